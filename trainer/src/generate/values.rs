//! Renderers for entity values (cards, phones, emails, names, dates, places) and for
//! non-PII numbers, in the many surface forms STT produces.

use super::lex::*;
use super::Side;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng as R;

pub const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
pub const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const ORD_ONES: [&str; 20] = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];

fn pick<'a>(rng: &mut R, xs: &[&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

/// 0..=99 in words.
pub fn two_digit(n: u32) -> String {
    if n < 20 {
        ONES[n as usize].to_string()
    } else if n % 10 == 0 {
        TENS[(n / 10) as usize].to_string()
    } else {
        format!("{} {}", TENS[(n / 10) as usize], ONES[(n % 10) as usize])
    }
}

/// Cardinal in words, international (thousand) or Indian (lakh) grouping.
pub fn number_words(n: u64, indian: bool) -> String {
    if n < 100 {
        return two_digit(n as u32);
    }
    if n < 1000 {
        let (h, r) = (n / 100, n % 100);
        return if r == 0 {
            format!("{} hundred", ONES[h as usize])
        } else {
            format!("{} hundred {}", ONES[h as usize], two_digit(r as u32))
        };
    }
    if indian && n >= 100_000 {
        let (l, r) = (n / 100_000, n % 100_000);
        let head = format!("{} lakh", number_words(l, true));
        return if r == 0 {
            head
        } else {
            format!("{} {}", head, number_words(r, true))
        };
    }
    let (t, r) = (n / 1000, n % 1000);
    let head = format!("{} thousand", number_words(t, indian));
    if r == 0 {
        head
    } else {
        format!("{} {}", head, number_words(r, indian))
    }
}

pub fn ordinal_words(n: u32) -> String {
    if n < 20 {
        ORD_ONES[n as usize].to_string()
    } else if n % 10 == 0 {
        format!(
            "{}ieth",
            &TENS[(n / 10) as usize][..TENS[(n / 10) as usize].len() - 1]
        )
    } else {
        format!(
            "{} {}",
            TENS[(n / 10) as usize],
            ORD_ONES[(n % 10) as usize]
        )
    }
}

pub fn ordinal_suffix(n: u32) -> String {
    let s = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{s}")
}

/// How digits are spoken in one number.
#[derive(Clone, Copy)]
pub struct Speak {
    pub oh: bool,
    pub double: bool,
    pub triple: bool,
}

impl Speak {
    pub fn random(rng: &mut R) -> Self {
        Speak {
            oh: rng.gen_bool(0.45),
            double: rng.gen_bool(0.6),
            triple: rng.gen_bool(0.5),
        }
    }
}

fn digit_word(d: u8, sp: Speak) -> &'static str {
    if d == 0 && sp.oh {
        "oh"
    } else {
        ONES[d as usize]
    }
}

/// Speak a digit string one digit at a time, with double/triple for runs.
pub fn speak_digits(ds: &[u8], sp: Speak) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ds.len() {
        let d = ds[i];
        let mut run = 1;
        while i + run < ds.len() && ds[i + run] == d {
            run += 1;
        }
        if run >= 3 && sp.triple {
            out.push(format!("triple {}", digit_word(d, sp)));
            i += 3;
        } else if run >= 2 && sp.double {
            out.push(format!("double {}", digit_word(d, sp)));
            i += 2;
        } else {
            out.push(digit_word(d, sp).to_string());
            i += 1;
        }
    }
    out
}

/// Speak digits in pairs as two-digit numbers ("forty two", "oh five").
pub fn speak_pairs(ds: &[u8], sp: Speak) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ds.len() {
        // "twenty" then a lone digit would read as "twenty seven": say the tail singly
        if ds.len() - i == 3 && ds[i] >= 2 && ds[i + 1] == 0 {
            out.extend(ds[i..].iter().map(|&d| digit_word(d, sp).to_string()));
            break;
        }
        if i + 1 < ds.len() {
            let (a, b) = (ds[i], ds[i + 1]);
            if a == 0 {
                out.push(format!("{} {}", digit_word(0, sp), digit_word(b, sp)));
            } else {
                out.push(two_digit((a * 10 + b) as u32));
            }
            i += 2;
        } else {
            out.push(digit_word(ds[i], sp).to_string());
            i += 1;
        }
    }
    out
}

fn digits_str(ds: &[u8]) -> String {
    ds.iter().map(|d| (b'0' + d) as char).collect()
}

fn rand_digits(rng: &mut R, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.gen_range(0..10u8)).collect()
}

/// Split digits into groups of the given sizes (the rest in one last group).
pub(super) fn split_groups<'a>(ds: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    for &s in sizes {
        if i >= ds.len() {
            break;
        }
        let e = (i + s).min(ds.len());
        out.push(&ds[i..e]);
        i = e;
    }
    if i < ds.len() {
        out.push(&ds[i..]);
    }
    out
}

/// Render digit groups in one of the surface forms. `pairs` allows the held-out
/// two-digit style.
fn render_groups(rng: &mut R, ds: &[u8], sizes: &[usize], side: Side) -> String {
    let groups = split_groups(ds, sizes);
    let sp = Speak::random(rng);
    // Two-digit pairs ("forty two seventy one") on both sides, rarer in training.
    let pick = if side == Side::Heldout || rng.gen_bool(0.1) {
        rng.gen_range(0..7)
    } else {
        rng.gen_range(0..6)
    };
    match pick {
        0 => digits_str(ds),
        1 => groups
            .iter()
            .map(|g| digits_str(g))
            .collect::<Vec<_>>()
            .join(" "),
        2 => groups
            .iter()
            .map(|g| digits_str(g))
            .collect::<Vec<_>>()
            .join("-"),
        3 | 4 => groups
            .iter()
            .map(|g| speak_digits(g, sp).join(" "))
            .collect::<Vec<_>>()
            .join(" "),
        5 => {
            // mix of written and spoken groups
            let mut parts = Vec::new();
            for g in &groups {
                if rng.gen_bool(0.5) {
                    parts.push(digits_str(g));
                } else {
                    parts.push(speak_digits(g, sp).join(" "));
                }
            }
            parts.join(" ")
        }
        _ => groups
            .iter()
            .map(|g| speak_pairs(g, sp).join(" "))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn luhn_complete(mut ds: Vec<u8>) -> Vec<u8> {
    let mut sum = 0u32;
    for (i, &d) in ds.iter().rev().enumerate() {
        let mut v = d as u32;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    ds.push(((10 - sum % 10) % 10) as u8);
    ds
}

pub fn card(rng: &mut R, side: Side) -> String {
    let amex = rng.gen_bool(0.15);
    let len = if amex { 15 } else { 16 };
    let mut ds: Vec<u8> = if amex {
        vec![3, if rng.gen_bool(0.5) { 4 } else { 7 }]
    } else {
        match rng.gen_range(0..4) {
            0 => vec![4],
            1 => vec![5, rng.gen_range(1..6)],
            2 => vec![6, 0, 7],
            _ => vec![4, rng.gen_range(0..10)],
        }
    };
    // a few runs so that double/triple show up
    while ds.len() < len - 1 {
        let d = rng.gen_range(0..10u8);
        ds.push(d);
        if rng.gen_bool(0.12) && ds.len() < len - 1 {
            ds.push(d);
        }
    }
    ds.truncate(len - 1);
    let ds = luhn_complete(ds);
    let sizes: &[usize] = if amex { &[4, 6, 5] } else { &[4, 4, 4, 4] };
    render_groups(rng, &ds, sizes, side)
}

pub fn phone(rng: &mut R, side: Side) -> String {
    let kind = rng.gen_range(0..100);
    if kind < 44 {
        // Indian mobile
        let mut ds = vec![rng.gen_range(6..10u8)];
        while ds.len() < 10 {
            let d = rng.gen_range(0..10u8);
            ds.push(d);
            if rng.gen_bool(0.15) && ds.len() < 10 {
                ds.push(d);
            }
        }
        ds.truncate(10);
        let sizes: &[usize] = match rng.gen_range(0..4) {
            0 => &[5, 5],
            1 => &[3, 3, 4],
            2 => &[4, 3, 3],
            _ => &[2, 4, 4],
        };
        let body = render_groups(rng, &ds, sizes, side);
        let cc = match rng.gen_range(0..10) {
            0 | 1 => "+91 ",
            2 => "plus nine one ",
            3 => "nine one ",
            4 => "zero ",
            5 if side == Side::Heldout => "plus ninety one ",
            _ => "",
        };
        format!("{cc}{body}")
    } else if kind < 56 {
        // landline with std code
        let stds: &[&[u8]] = &[
            &[0, 8, 0],
            &[0, 2, 2],
            &[0, 1, 1],
            &[0, 4, 4],
            &[0, 3, 3],
            &[0, 4, 0],
            &[0, 2, 0],
            &[0, 4, 8, 4],
        ];
        let std = stds.choose(rng).unwrap().to_vec();
        let n = 11 - std.len();
        let mut local = vec![rng.gen_range(2..7u8)];
        local.extend(rand_digits(rng, n - 1));
        let sp = Speak::random(rng);
        match rng.gen_range(0..4) {
            0 => format!("{} {}", digits_str(&std), digits_str(&local)),
            1 => format!("{}-{}", digits_str(&std), digits_str(&local)),
            2 => {
                let mut all = std.clone();
                all.extend(&local);
                speak_digits(&all, sp).join(" ")
            }
            _ => format!(
                "{} {}",
                speak_digits(&std, sp).join(" "),
                render_groups(rng, &local, &[4, 4], side)
            ),
        }
    } else if kind < 78 {
        intl_phone(rng, side)
    } else if kind < 90 {
        // US
        let mut ds = vec![rng.gen_range(2..10u8)];
        ds.extend(rand_digits(rng, 2));
        ds.push(rng.gen_range(2..10u8));
        ds.extend(rand_digits(rng, 6));
        let body = match rng.gen_range(0..4) {
            0 => format!(
                "{} {} {}",
                digits_str(&ds[..3]),
                digits_str(&ds[3..6]),
                digits_str(&ds[6..])
            ),
            1 => format!(
                "{}-{}-{}",
                digits_str(&ds[..3]),
                digits_str(&ds[3..6]),
                digits_str(&ds[6..])
            ),
            _ => render_groups(rng, &ds, &[3, 3, 4], side),
        };
        let cc = match rng.gen_range(0..5) {
            0 => "+1 ",
            1 => "plus one ",
            2 => "double oh one ",
            _ => "",
        };
        format!("{cc}{body}")
    } else {
        // UK
        let mobile = rng.gen_bool(0.5);
        let mut ds: Vec<u8> = if mobile {
            vec![7, rng.gen_range(0..10u8)]
        } else {
            vec![2, 0]
        };
        ds.extend(rand_digits(rng, if mobile { 8 } else { 8 }));
        let sizes: &[usize] = if mobile { &[4, 6] } else { &[2, 4, 4] };
        match rng.gen_range(0..4) {
            0 => format!(
                "+44 {}",
                split_groups(&ds, sizes)
                    .iter()
                    .map(|g| digits_str(g))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            1 => format!(
                "double oh four four {}",
                render_groups(rng, &ds, sizes, side)
            ),
            2 => format!("plus four four {}", render_groups(rng, &ds, sizes, side)),
            _ => {
                let mut all = vec![0u8];
                all.extend(&ds);
                render_groups(rng, &all, &[5, 6], side)
            }
        }
    }
}

/// A mobile number of another country: +61, +234, +27, +63, +353 (and +44/+1 above),
/// with its country code written or spoken, or nationally with the trunk zero.
fn intl_phone(rng: &mut R, side: Side) -> String {
    // (country code, first national digit choices, national length, groups)
    let countries: &[(&[u8], &[u8], usize, &[usize])] = &[
        (&[6, 1], &[4], 9, &[3, 3, 3]),
        (&[2, 3, 4], &[7, 8, 9], 10, &[3, 3, 4]),
        (&[2, 7], &[6, 7, 8], 9, &[2, 3, 4]),
        (&[6, 3], &[9], 10, &[3, 3, 4]),
        (&[3, 5, 3], &[8], 9, &[2, 3, 4]),
        (&[9, 1], &[6, 7, 8, 9], 10, &[5, 5]),
    ];
    let (cc, first, n, sizes) = *countries.choose(rng).unwrap();
    let mut ds = vec![*first.choose(rng).unwrap()];
    if cc == [2, 3, 4] {
        ds.push(rng.gen_range(0..2u8));
    }
    while ds.len() < n {
        ds.push(rng.gen_range(0..10u8));
    }
    let sp = Speak::random(rng);
    let cc_spoken = || {
        speak_digits(
            cc,
            Speak {
                oh: false,
                double: false,
                triple: false,
            },
        )
        .join(" ")
    };
    let written_groups = |ds: &[u8]| {
        split_groups(ds, sizes)
            .iter()
            .map(|g| digits_str(g))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match rng.gen_range(0..6) {
        0 => format!("+{} {}", digits_str(cc), written_groups(&ds)),
        1 | 2 => format!(
            "plus {} {}",
            cc_spoken(),
            render_groups(rng, &ds, sizes, side)
        ),
        3 => format!(
            "{} {} {}",
            if sp.oh { "double oh" } else { "zero zero" },
            cc_spoken(),
            render_groups(rng, &ds, sizes, side)
        ),
        4 if side == Side::Heldout && cc.len() == 2 => format!(
            "plus {} {}",
            two_digit((cc[0] * 10 + cc[1]) as u32),
            render_groups(rng, &ds, sizes, side)
        ),
        _ => {
            let mut all = vec![0u8];
            all.extend(&ds);
            let mut sz = sizes.to_vec();
            sz[0] += 1;
            render_groups(rng, &all, &sz, side)
        }
    }
}

/// How many digits a written or spoken number spells ("double five" is two, "forty two"
/// is two, "+91" is two); words that spell no digit count nothing.
pub fn digit_count(words: &[&str]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w.chars().any(|c| c.is_ascii_digit()) {
            n += w.chars().filter(|c| c.is_ascii_digit()).count();
        } else if ONES[..10].contains(&w) || w == "oh" {
            n += 1;
        } else if ONES[10..].contains(&w) {
            n += 2;
        } else if TENS[2..].contains(&w) {
            n += 2;
            if i + 1 < words.len() && ONES[1..10].contains(&words[i + 1]) {
                i += 1;
            }
        } else if w == "double" {
            n += 1;
        } else if w == "triple" {
            n += 2;
        } else if w == "hundred" {
            n += 2;
        }
        i += 1;
    }
    n
}

/// A person's name, as (first, last), drawn from a pool of some origin.
pub fn person(rng: &mut R, side: Side) -> (String, String) {
    use fake::locales::{Data, CY_GB, DE_DE, EN, FR_FR, IT_IT, PT_BR, PT_PT};
    let ho = side == Side::Heldout && rng.gen_bool(0.55);
    // whole names of several words, and names that are also ordinary words
    if rng.gen_bool(0.12) {
        let pool = if ho { FULL_NAMES_HO } else { FULL_NAMES };
        let (f, l) = *pool.choose(rng).unwrap();
        return (f.to_string(), l.to_string());
    }
    if rng.gen_bool(0.07) {
        let pool = if ho { WORD_NAMES_HO } else { WORD_NAMES };
        let last = if rng.gen_bool(0.5) {
            clean_name(
                rng,
                if ho {
                    IRISH_LAST_HO
                } else {
                    EN::NAME_LAST_NAME
                },
            )
        } else {
            clean_name(rng, if ho { INDIAN_LAST_HO } else { INDIAN_LAST })
        };
        return (pick(rng, pool).to_string(), last);
    }
    let (f, l): (&[&str], &[&str]) = if ho {
        match rng.gen_range(0..10) {
            0..=3 => (INDIAN_FIRST_HO, INDIAN_LAST_HO),
            4 => (ARABIC_FIRST_HO, ARABIC_LAST_HO),
            5 => (CHINESE_FIRST_HO, CHINESE_LAST_HO),
            6 => (AFRICAN_FIRST_HO, AFRICAN_LAST_HO),
            7 => (IT_IT::NAME_FIRST_NAME, IT_IT::NAME_LAST_NAME),
            8 => (PT_PT::NAME_FIRST_NAME, PT_PT::NAME_LAST_NAME),
            9 if rng.gen_bool(0.5) => (IRISH_FIRST_HO, IRISH_LAST_HO),
            _ => (CY_GB::NAME_FIRST_NAME, CY_GB::NAME_LAST_NAME),
        }
    } else if rng.gen_bool(0.15) {
        match rng.gen_range(0..3) {
            0 => (FILIPINO_FIRST, FILIPINO_LAST),
            1 => (IRISH_FIRST, IRISH_LAST),
            _ => (VIET_FIRST, VIET_LAST),
        }
    } else {
        match rng.gen_range(0..20) {
            0..=9 => (INDIAN_FIRST, INDIAN_LAST),
            10 => (ARABIC_FIRST, ARABIC_LAST),
            11 => (CHINESE_FIRST, CHINESE_LAST),
            12 => (SPANISH_FIRST, SPANISH_LAST),
            13 => (AFRICAN_FIRST, AFRICAN_LAST),
            14 | 15 => (EN::NAME_FIRST_NAME, EN::NAME_LAST_NAME),
            16 => (FR_FR::NAME_FIRST_NAME, FR_FR::NAME_LAST_NAME),
            17 => (DE_DE::NAME_FIRST_NAME, DE_DE::NAME_LAST_NAME),
            18 => (PT_BR::NAME_FIRST_NAME, PT_BR::NAME_LAST_NAME),
            _ => (INDIAN_FIRST, EN::NAME_LAST_NAME),
        }
    };
    (clean_name(rng, f), clean_name(rng, l))
}

/// Lowercased, letters only (hyphens become spaces); retries past odd entries.
fn clean_name(rng: &mut R, pool: &[&str]) -> String {
    for _ in 0..20 {
        let raw = pick(rng, pool).to_lowercase().replace('-', " ");
        if !raw.is_empty()
            && raw.chars().all(|c| c.is_alphabetic() || c == ' ')
            && raw.split_whitespace().all(|w| !TITLES.contains(&w))
            && !BRANDS.contains(&raw.as_str())
            && !BRANDS_HO.contains(&raw.as_str())
        {
            return raw.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    "kumar".to_string()
}

pub fn spell(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphabetic())
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'ß' => 's',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// An email address, spoken or written, built from `first`/`last`.
pub fn email(rng: &mut R, side: Side, first: &str, last: &str) -> String {
    let f = ascii_fold(first);
    let l = ascii_fold(last);
    let f = if f.is_empty() { "user".to_string() } else { f };
    let l = if l.is_empty() { "mail".to_string() } else { l };
    let num = || -> String { String::new() };
    let _ = num;
    let digits = if rng.gen_bool(0.5) {
        rng.gen_range(1..100).to_string()
    } else {
        rng.gen_range(1970..2010).to_string()
    };
    let local = match rng.gen_range(0..11) {
        0 => f.clone(),
        1 => format!("{f}.{l}"),
        2 => format!("{f}_{l}"),
        3 => format!("{f}{l}"),
        4 => format!("{f}.{}", &l[..1]),
        5 => format!("{}.{l}", &f[..1]),
        6 => format!("{f}{digits}"),
        7 => format!("{f}_{}{digits}", &l[..1]),
        8 => format!("{l}.{f}"),
        9 => format!("{f}-{l}"),
        _ => format!("{f}.{l}{digits}"),
    };
    let pool: &[&str] = if side == Side::Heldout && rng.gen_bool(0.6) {
        DOMAINS_HO
    } else {
        DOMAINS
    };
    let domain = pick(rng, pool);
    if rng.gen_bool(0.28) {
        return format!("{local}@{domain}");
    }
    let at = match side {
        Side::Train => *["at", "at", "at the rate", "at the rate"]
            .choose(rng)
            .unwrap(),
        Side::Heldout => *["at", "at the rate", "at the rate of", "at sign"]
            .choose(rng)
            .unwrap(),
    };
    let sp = Speak::random(rng);
    let spoken_digits = rng.gen_bool(0.6);
    let spell_short = rng.gen_bool(0.8);
    let spell_all = rng.gen_bool(0.15);
    let mut words: Vec<String> = Vec::new();
    let speak_part = |part: &str, words: &mut Vec<String>, rng: &mut R| {
        // split into alpha runs, digit runs and symbols
        let cs: Vec<char> = part.chars().collect();
        let mut i = 0;
        while i < cs.len() {
            let c = cs[i];
            if c.is_ascii_alphabetic() {
                let mut j = i;
                while j < cs.len() && cs[j].is_ascii_alphabetic() {
                    j += 1;
                }
                let run: String = cs[i..j].iter().collect();
                if spell_all || (run.len() <= 2 && spell_short) || rng.gen_bool(0.1) {
                    words.push(spell(&run));
                } else {
                    words.push(run);
                }
                i = j;
            } else if c.is_ascii_digit() {
                let mut j = i;
                while j < cs.len() && cs[j].is_ascii_digit() {
                    j += 1;
                }
                let ds: Vec<u8> = cs[i..j].iter().map(|c| *c as u8 - b'0').collect();
                if spoken_digits {
                    words.push(speak_digits(&ds, sp).join(" "));
                } else {
                    words.push(digits_str(&ds));
                }
                i = j;
            } else {
                words.push(
                    match c {
                        '.' => "dot",
                        '_' => "underscore",
                        '-' => {
                            if rng.gen_bool(0.5) {
                                "dash"
                            } else {
                                "hyphen"
                            }
                        }
                        _ => "dot",
                    }
                    .to_string(),
                );
                i += 1;
            }
        }
    };
    speak_part(&local, &mut words, rng);
    words.push(at.to_string());
    if rng.gen_bool(0.12) {
        words.push(domain.to_string());
    } else {
        let mut parts = domain.split('.');
        let host = parts.next().unwrap();
        if rng.gen_bool(0.2) {
            words.push(spell(host));
        } else if host == "gmail" && rng.gen_bool(0.3) {
            words.push("g mail".into());
        } else {
            words.push(host.into());
        }
        for p in parts {
            words.push("dot".into());
            if p.len() <= 2 && rng.gen_bool(0.3) {
                words.push(spell(p));
            } else {
                words.push(p.into());
            }
        }
    }
    words.join(" ")
}

pub fn spoken_year(rng: &mut R, y: u32) -> String {
    if y >= 2000 {
        let r = y - 2000;
        match rng.gen_range(0..3) {
            0 if r >= 10 => format!("twenty {}", two_digit(r)),
            1 => {
                if r == 0 {
                    "two thousand".into()
                } else {
                    format!("two thousand {}", two_digit(r))
                }
            }
            _ => {
                if r == 0 {
                    "two thousand".into()
                } else if rng.gen_bool(0.5) {
                    format!("two thousand and {}", two_digit(r))
                } else {
                    format!(
                        "twenty {}",
                        if r < 10 {
                            format!("oh {}", ONES[r as usize])
                        } else {
                            two_digit(r)
                        }
                    )
                }
            }
        }
    } else {
        let (c, r) = (y / 100, y % 100);
        if r == 0 {
            format!("{} hundred", two_digit(c))
        } else if r < 10 {
            format!("{} oh {}", two_digit(c), ONES[r as usize])
        } else {
            format!("{} {}", two_digit(c), two_digit(r))
        }
    }
}

fn days_in(m: usize) -> u32 {
    [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m]
}

pub fn date(rng: &mut R, side: Side) -> String {
    let m = rng.gen_range(0..12usize);
    let d = rng.gen_range(1..=days_in(m));
    let y: u32 = if rng.gen_bool(0.35) {
        rng.gen_range(1950..2006)
    } else {
        rng.gen_range(2018..2028)
    };
    let mon = MONTHS[m];
    let short = MONTHS_SHORT[m];
    let yr = |rng: &mut R| -> String {
        if rng.gen_bool(0.5) {
            y.to_string()
        } else {
            spoken_year(rng, y)
        }
    };
    if side == Side::Heldout && rng.gen_bool(0.5) {
        // held-out-only patterns
        return match rng.gen_range(0..7) {
            0 => format!("{mon} the {}", ordinal_suffix(d)),
            1 => format!("{:02}.{:02}.{y}", d, m + 1),
            2 => format!(
                "{} {} {}",
                if m == 8 { "sept" } else { short },
                ordinal_suffix(d),
                yr(rng)
            ),
            3 => format!(
                "the {} of {}",
                ordinal_suffix(d),
                if m == 8 { "sept" } else { short }
            ),
            4 => format!("{short} {}", ordinal_words(d)),
            5 => format!("{} day of {mon} {}", ordinal_words(d), yr(rng)),
            _ => format!("{y}/{:02}/{:02}", m + 1, d),
        };
    }
    if rng.gen_bool(0.1) {
        return spoken_numeric_date(rng, side, d, m as u32 + 1, y);
    }
    match rng.gen_range(0..16) {
        0 => format!("{d} of {mon} {}", yr(rng)),
        1 => format!("{} {mon} {}", ordinal_suffix(d), yr(rng)),
        2 => format!("{mon} {} {}", ordinal_words(d), spoken_year(rng, y)),
        3 => format!("{:02}/{:02}/{y}", d, m + 1),
        4 => format!("{:02}-{:02}-{y}", d, m + 1),
        5 => format!("the {} of {mon}", ordinal_words(d)),
        6 => format!("{} {short}", ordinal_suffix(d)),
        7 => format!("{y}-{:02}-{:02}", m + 1, d),
        8 => format!("the {} of {mon} {}", ordinal_suffix(d), yr(rng)),
        9 => format!("{} {mon} {}", ordinal_words(d), spoken_year(rng, y)),
        10 => format!("{mon} {d} {}", yr(rng)),
        11 => format!("{d} {short} {y}"),
        12 => format!("{} {mon}", two_digit(d)),
        13 => format!("{d}/{}/{}", m + 1, y % 100),
        14 => format!("{} of {mon}", ordinal_suffix(d)),
        _ => format!("{mon} {}", ordinal_suffix(d)),
    }
}

/// Day or month of a spoken numeric date: "three", "oh three", "zero three", "eleven".
fn spoken_dm(rng: &mut R, v: u32) -> String {
    if v < 10 && rng.gen_bool(0.4) {
        format!(
            "{} {}",
            if rng.gen_bool(0.6) { "oh" } else { "zero" },
            ONES[v as usize]
        )
    } else {
        two_digit(v)
    }
}

/// "three slash nine slash twenty nineteen", "oh three dash eleven dash ninety two".
fn spoken_numeric_date(rng: &mut R, side: Side, d: u32, m: u32, y: u32) -> String {
    let sep = match side {
        Side::Train => *["slash", "slash", "dash"].choose(rng).unwrap(),
        Side::Heldout => *["slash", "dash", "stroke"].choose(rng).unwrap(),
    };
    let (a, b) = if rng.gen_bool(0.8) { (d, m) } else { (m, d) };
    let yr = if rng.gen_bool(0.3) {
        spoken_dm(rng, y % 100)
    } else {
        spoken_year(rng, y)
    };
    format!(
        "{} {sep} {} {sep} {yr}",
        spoken_dm(rng, a),
        spoken_dm(rng, b)
    )
}

/// A card expiry date: "06/27", "oh six slash twenty seven", "august twenty twenty eight".
pub fn expiry(rng: &mut R, side: Side) -> String {
    let m = rng.gen_range(1..=12u32);
    let yy = rng.gen_range(24..36u32);
    let mon = MONTHS[m as usize - 1];
    match rng.gen_range(0..7) {
        0 => format!("{m:02}/{yy}"),
        1 | 2 => format!(
            "{} slash {}",
            spoken_dm(rng, m),
            if rng.gen_bool(0.7) {
                two_digit(yy)
            } else {
                format!("{} {}", ONES[(yy / 10) as usize], ONES[(yy % 10) as usize])
            }
        ),
        3 => format!("{mon} {}", spoken_year(rng, 2000 + yy)),
        4 => format!("{mon} {}", 2000 + yy),
        5 if side == Side::Heldout => format!("{m:02}-{yy}"),
        5 => format!("{} {}", MONTHS_SHORT[m as usize - 1], two_digit(yy)),
        _ => format!("{m:02}/{}", 2000 + yy),
    }
}

pub fn city(rng: &mut R, side: Side) -> String {
    if side == Side::Heldout && rng.gen_bool(0.5) {
        return pick(rng, CITIES_HO).to_string();
    }
    if rng.gen_bool(0.75) {
        pick(rng, INDIAN_CITIES).to_string()
    } else {
        pick(rng, WORLD_CITIES).to_string()
    }
}

pub fn location(rng: &mut R, side: Side) -> String {
    if side == Side::Heldout && rng.gen_bool(0.5) {
        pick(rng, LOCATIONS_HO).to_string()
    } else {
        pick(rng, LOCATIONS).to_string()
    }
}

pub fn brand(rng: &mut R, side: Side) -> String {
    if side == Side::Heldout && rng.gen_bool(0.6) {
        pick(rng, BRANDS_HO)
    } else {
        pick(rng, BRANDS)
    }
    .to_string()
}

pub fn product(rng: &mut R, side: Side) -> String {
    if side == Side::Heldout && rng.gen_bool(0.5) {
        pick(rng, PRODUCTS_HO)
    } else {
        pick(rng, PRODUCTS)
    }
    .to_string()
}

/// Spoken or written digit string of `n` digits (for ids and codes).
fn id_digits(rng: &mut R, n: usize) -> String {
    let ds = rand_digits(rng, n);
    match rng.gen_range(0..3) {
        0 => digits_str(&ds),
        1 => speak_digits(&ds, Speak::random(rng)).join(" "),
        _ => render_groups(rng, &ds, &[3, 3, 3, 3], Side::Train),
    }
}

/// Non-PII numeric values, rendered; `kind` is the slot name.
pub fn non_pii(rng: &mut R, kind: &str) -> String {
    match kind {
        "order" => match rng.gen_range(0..4) {
            0 => format!("od{}", digits_str(&rand_digits(rng, 12))),
            1 => format!(
                "{}-{}-{}",
                digits_str(&rand_digits(rng, 3)),
                digits_str(&rand_digits(rng, 7)),
                digits_str(&rand_digits(rng, 5))
            ),
            _ => {
                let n = rng.gen_range(6..13);
                id_digits(rng, n)
            }
        },
        "ticket" => match rng.gen_range(0..3) {
            0 => format!(
                "{} {}",
                pick(rng, &["sr", "cr", "tkt", "inc", "ref"]),
                digits_str(&rand_digits(rng, 7))
            ),
            _ => {
                let n = rng.gen_range(5..11);
                id_digits(rng, n)
            }
        },
        "amount" => {
            let v: u64 = match rng.gen_range(0..3) {
                0 => rng.gen_range(1..100) * 10,
                1 => rng.gen_range(1..200) * 50,
                _ => rng.gen_range(100..250000),
            };
            match rng.gen_range(0..7) {
                0 => format!("rupees {}", number_words(v, true)),
                1 => format!("{} rupees", number_words(v, true)),
                2 => format!("rs {v}"),
                3 => format!("${}", v % 5000),
                4 => format!("{} dollars", number_words(v % 5000, false)),
                5 => format!("{v} rupees"),
                _ => format!("{} pounds", number_words(v % 2000, false)),
            }
        }
        "time" => {
            let h = rng.gen_range(1..13u32);
            let mm = *[0u32, 15, 30, 45, 10, 20].choose(rng).unwrap();
            let ampm = pick(rng, &["am", "pm", "in the evening", "in the morning", ""]);
            let t = match rng.gen_range(0..4) {
                0 => format!("{h}:{mm:02}"),
                1 if mm != 0 => format!("{} {}", ONES[h as usize], two_digit(mm)),
                2 => format!("{} o clock", ONES[h as usize]),
                _ => format!("{h}"),
            };
            format!("{t} {ampm}").trim().to_string()
        }
        "otp" => {
            let n = if rng.gen_bool(0.5) { 4 } else { 6 };
            let ds = rand_digits(rng, n);
            if rng.gen_bool(0.6) {
                speak_digits(&ds, Speak::random(rng)).join(" ")
            } else {
                digits_str(&ds)
            }
        }
        "count" => {
            let n = rng.gen_range(2..15u64);
            if rng.gen_bool(0.7) {
                number_words(n, false)
            } else {
                n.to_string()
            }
        }
        "room" => {
            let n = rng.gen_range(101..2500u64);
            match rng.gen_range(0..3) {
                0 => n.to_string(),
                1 => number_words(n, false),
                _ => speak_digits(
                    &n.to_string().bytes().map(|b| b - b'0').collect::<Vec<_>>(),
                    Speak::random(rng),
                )
                .join(" "),
            }
        }
        "pin" => {
            let mut ds = vec![rng.gen_range(1..9u8)];
            ds.extend(rand_digits(rng, 5));
            if rng.gen_bool(0.5) {
                digits_str(&ds)
            } else {
                speak_digits(&ds, Speak::random(rng)).join(" ")
            }
        }
        "year" => {
            let y = rng.gen_range(1995..2026u32);
            if rng.gen_bool(0.5) {
                y.to_string()
            } else {
                spoken_year(rng, y)
            }
        }
        "qty" => {
            let n = rng.gen_range(1..20u64);
            let unit = pick(
                rng,
                &["kg", "litres", "packets", "boxes", "gb", "units", "pieces"],
            );
            if rng.gen_bool(0.5) {
                format!("{n} {unit}")
            } else {
                format!("{} {unit}", number_words(n, false))
            }
        }
        "last4" => {
            let ds = rand_digits(rng, 4);
            if rng.gen_bool(0.5) {
                digits_str(&ds)
            } else {
                speak_digits(&ds, Speak::random(rng)).join(" ")
            }
        }
        "mins" => {
            let n = rng.gen_range(2..90u64);
            format!(
                "{} minutes",
                if rng.gen_bool(0.6) {
                    number_words(n, false)
                } else {
                    n.to_string()
                }
            )
        }
        _ => number_words(rng.gen_range(1..100), false),
    }
}
