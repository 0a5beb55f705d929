//! Hard negatives: unlabelled content that looks like PII. Identifiers of every PII-like
//! length said the way phone and card numbers are said, reference codes with letters,
//! amounts, times, day-only/weekday/relative dates, OTPs, PINs, CVVs, extensions, counts.
//! Each identifier kind has train-side and held-out carrier phrasings.

use super::values::{number_words, speak_digits, speak_pairs, split_groups, two_digit, Speak, ONES};
use super::Side;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng as R;

fn pick<'a>(rng: &mut R, xs: &[&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

/// How an identifier's characters are drawn.
#[derive(Clone, Copy)]
enum Shape {
    /// `n` digits in the given range, grouped by the sizes.
    Digits(usize, usize, &'static [usize]),
    /// Letters then digits, e.g. a PAN `abcde1234f` given as a pattern: `a` letter, `9` digit.
    Pattern(&'static str),
}

struct IdKind {
    train: &'static [&'static str],
    heldout: &'static [&'static str],
    shape: Shape,
}

/// Identifier carriers. Every phrase is one the generator tests check: whatever number
/// follows it is never labelled.
const IDS: &[IdKind] = &[
    IdKind {
        train: &["policy number", "my policy number is"],
        heldout: &["policy no", "the policy ref is"],
        shape: Shape::Digits(8, 12, &[4, 4, 4]),
    },
    IdKind {
        train: &["member id", "membership number"],
        heldout: &["member no"],
        shape: Shape::Digits(8, 12, &[3, 3, 3, 3]),
    },
    IdKind {
        train: &["claim number", "the claim number is"],
        heldout: &["claim ref"],
        shape: Shape::Digits(8, 12, &[4, 4, 4]),
    },
    IdKind {
        train: &["meter number", "my meter number is"],
        heldout: &["meter no"],
        shape: Shape::Digits(8, 11, &[3, 4, 4]),
    },
    IdKind {
        train: &["consumer number", "consumer number is"],
        heldout: &["consumer no"],
        shape: Shape::Digits(9, 12, &[3, 3, 3, 3]),
    },
    IdKind {
        train: &["customer id", "my customer id is"],
        heldout: &["customer no"],
        shape: Shape::Digits(6, 10, &[3, 3, 4]),
    },
    IdKind {
        train: &["order number", "order id"],
        heldout: &["order no"],
        shape: Shape::Digits(10, 16, &[4, 4, 4, 4]),
    },
    IdKind {
        train: &["ticket number", "the ticket number is"],
        heldout: &["ticket no"],
        shape: Shape::Digits(6, 10, &[3, 3, 4]),
    },
    IdKind {
        train: &["reference number", "the reference number is"],
        heldout: &["reference no"],
        shape: Shape::Digits(6, 12, &[3, 3, 3, 3]),
    },
    IdKind {
        train: &["booking reference", "pnr number", "pnr"],
        heldout: &["pnr no"],
        shape: Shape::Digits(10, 10, &[3, 3, 4]),
    },
    IdKind {
        train: &["tracking number", "the tracking number is"],
        heldout: &["tracking no"],
        shape: Shape::Digits(10, 14, &[4, 4, 4]),
    },
    IdKind {
        train: &["imei number", "the imei is"],
        heldout: &["imei no"],
        shape: Shape::Digits(15, 15, &[2, 6, 6, 1]),
    },
    IdKind {
        train: &["aadhaar number", "my aadhaar is"],
        heldout: &["aadhaar no"],
        shape: Shape::Digits(12, 12, &[4, 4, 4]),
    },
    IdKind {
        train: &["bvn", "my bvn is", "nin number"],
        heldout: &["bvn no", "nin no"],
        shape: Shape::Digits(11, 11, &[3, 4, 4]),
    },
    IdKind {
        train: &["national id number", "id number"],
        heldout: &["national id no"],
        shape: Shape::Digits(13, 13, &[6, 4, 3]),
    },
    IdKind {
        train: &["electricity token", "the token number is"],
        heldout: &["token no"],
        shape: Shape::Digits(20, 20, &[4, 4, 4, 4, 4]),
    },
    IdKind {
        train: &[
            "account number",
            "my account number is",
            "savings account number",
        ],
        heldout: &["account no", "a c number"],
        shape: Shape::Digits(9, 18, &[4, 4, 4, 4, 2]),
    },
    IdKind {
        train: &["sort code", "the sort code is"],
        heldout: &["sort code is"],
        shape: Shape::Digits(6, 6, &[2, 2, 2]),
    },
    IdKind {
        train: &["ifsc code", "ifsc"],
        heldout: &["ifsc is"],
        shape: Shape::Pattern("aaaa0999999"),
    },
    IdKind {
        train: &["pan number", "my pan is"],
        heldout: &["pan no"],
        shape: Shape::Pattern("aaaaa9999a"),
    },
    IdKind {
        train: &["serial number", "the serial number is"],
        heldout: &["serial no"],
        shape: Shape::Pattern("aa99999999"),
    },
    IdKind {
        train: &["registration number", "vehicle number"],
        heldout: &["reg no", "gaadi number"],
        shape: Shape::Pattern("aa99aa9999"),
    },
    IdKind {
        train: &["utr number", "transaction id"],
        heldout: &["upi ref no"],
        shape: Shape::Digits(12, 12, &[4, 4, 4]),
    },
];

/// Every carrier phrase, both sides (the tests look for them).
pub fn carrier_phrases() -> Vec<&'static str> {
    IDS.iter()
        .flat_map(|k| k.train.iter().chain(k.heldout.iter()).copied())
        .collect()
}

fn rand_digits(rng: &mut R, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.gen_range(0..10u8)).collect()
}

fn digits_str(ds: &[u8]) -> String {
    ds.iter().map(|d| (b'0' + d) as char).collect()
}


fn filler_word(rng: &mut R, side: Side) -> &'static str {
    match side {
        Side::Train => pick(rng, &["uh", "um", "hmm"]),
        Side::Heldout => pick(rng, &["er", "erm", "ah"]),
    }
}

/// Digits said the way PHONE/CREDIT_CARD numbers are said: written, grouped, digit by
/// digit with oh/double/triple, in pairs ("ninety eight forty five"), mixed, with the odd
/// filler between groups.
pub fn say_digits(rng: &mut R, side: Side, ds: &[u8], sizes: &[usize]) -> String {
    let gs = split_groups(ds, sizes);
    let sp = Speak::random(rng);
    let style = rng.gen_range(0..8);
    let mut parts: Vec<String> = Vec::new();
    match style {
        0 => parts.push(digits_str(ds)),
        1 => parts.push(
            gs.iter()
                .map(|g| digits_str(g))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        2 => parts.push(
            gs.iter()
                .map(|g| digits_str(g))
                .collect::<Vec<_>>()
                .join("-"),
        ),
        _ => {
            for g in &gs {
                let w = match style {
                    3 | 4 => speak_digits(g, sp).join(" "),
                    5 => {
                        if rng.gen_bool(0.5) {
                            digits_str(g)
                        } else {
                            speak_digits(g, sp).join(" ")
                        }
                    }
                    _ => speak_pairs(g, sp).join(" "),
                };
                if !parts.is_empty() && rng.gen_bool(0.12) {
                    parts.push(filler_word(rng, side).to_string());
                }
                parts.push(w);
            }
        }
    }
    parts.join(" ")
}

fn spell_code(rng: &mut R, side: Side, pattern: &str) -> String {
    let letters: Vec<char> = "abcdefghjklmnprstuvwxyz".chars().collect();
    let sp = Speak::random(rng);
    let written = rng.gen_bool(0.3);
    let mut out: Vec<String> = Vec::new();
    let mut buf = String::new();
    for p in pattern.chars() {
        let c = match p {
            'a' => *letters.choose(rng).unwrap(),
            '0' => '0',
            _ => (b'0' + rng.gen_range(0..10u8)) as char,
        };
        buf.push(c);
    }
    if written {
        return buf;
    }
    let cs: Vec<char> = buf.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        if cs[i].is_ascii_digit() {
            let mut j = i;
            while j < cs.len() && cs[j].is_ascii_digit() {
                j += 1;
            }
            let ds: Vec<u8> = cs[i..j].iter().map(|c| *c as u8 - b'0').collect();
            if side == Side::Heldout && ds.len() >= 4 && rng.gen_bool(0.4) {
                out.push(speak_pairs(&ds, sp).join(" "));
            } else {
                out.push(speak_digits(&ds, sp).join(" "));
            }
            i = j;
        } else {
            let c = cs[i];
            let name = c.to_string();
            if side == Side::Train && rng.gen_bool(0.05) {
                out.push(format!(
                    "{c} for {}",
                    pick(rng, &["apple", "bravo", "delta", "mike", "tango"])
                ));
            } else {
                out.push(name);
            }
            i += 1;
        }
    }
    out.join(" ")
}

/// A carrier phrase followed by an identifier, e.g. "imei number three five two ...".
pub fn ident(rng: &mut R, side: Side) -> String {
    let k = IDS.choose(rng).unwrap();
    let carrier = match side {
        Side::Train => pick(rng, k.train),
        Side::Heldout => {
            if rng.gen_bool(0.6) {
                pick(rng, k.heldout)
            } else {
                pick(rng, k.train)
            }
        }
    };
    let value = match k.shape {
        Shape::Digits(lo, hi, sizes) => {
            let n = rng.gen_range(lo..=hi);
            let mut ds = rand_digits(rng, n);
            // runs so that double/triple show up
            if n > 4 && rng.gen_bool(0.3) {
                let i = rng.gen_range(0..n - 1);
                ds[i + 1] = ds[i];
            }
            say_digits(rng, side, &ds, sizes)
        }
        Shape::Pattern(p) => spell_code(rng, side, p),
    };
    format!("{carrier} {value}")
}

/// A reference code spelled with letters: "ref k d q four four one", "r x number ...".
pub fn ref_code(rng: &mut R, side: Side) -> String {
    let carrier = match side {
        Side::Train => pick(
            rng,
            &[
                "ref",
                "reference",
                "booking ref",
                "confirmation code",
                "r x number",
                "case number",
            ],
        ),
        Side::Heldout => pick(rng, &["ref", "ref code", "voucher code", "docket"]),
    };
    let pat = pick(
        rng,
        &["aaa999", "aa9999", "a9a9a9", "aaa9999", "99aa99", "aaaaaa"],
    );
    format!("{carrier} {}", spell_code(rng, side, pat))
}

/// An amount with a currency name or symbol.
pub fn money(rng: &mut R, side: Side) -> String {
    let v: u64 = match rng.gen_range(0..4) {
        0 => rng.gen_range(1..100),
        1 => rng.gen_range(1..200) * 50,
        2 => rng.gen_range(100..9999),
        _ => rng.gen_range(1000..500000),
    };
    let indian = rng.gen_bool(0.3);
    let cur = pick(
        rng,
        &[
            "rupees",
            "dollars",
            "pounds",
            "euros",
            "naira",
            "rand",
            "pesos",
            "shillings",
            "dirhams",
        ],
    );
    let cents = rng.gen_range(1..100u32);
    match rng.gen_range(0..9) {
        0 => format!("{} {cur}", number_words(v, indian)),
        1 => format!("{v} {cur}"),
        2 => format!("{cur} {}", number_words(v, indian)),
        3 => format!(
            "{} {cur} and {} {}",
            number_words(v % 1000, false),
            two_digit(cents),
            if cur == "pounds" { "pence" } else { "cents" }
        ),
        4 => format!("{}{v}", pick(rng, &["$", "£", "€", "₹", "₦", "r"])),
        5 => format!(
            "{} {cur} {}",
            number_words(v % 1000, false),
            two_digit(cents)
        ),
        6 if side == Side::Heldout => format!("{v} bucks"),
        7 => format!("{} k", number_words(v % 100 + 1, false)),
        _ => format!("{}.{cents:02} {cur}", v % 10000),
    }
}

/// A clock time: "at ten forty", "half past two", "quarter to five", "14:30".
pub fn time(rng: &mut R, side: Side) -> String {
    let h = rng.gen_range(1..13u32);
    let m = rng.gen_range(1..60u32);
    let ampm = pick(
        rng,
        &[
            "",
            "",
            "am",
            "pm",
            "in the morning",
            "in the evening",
            "tonight",
        ],
    );
    let t = match rng.gen_range(0..8) {
        0 => format!(
            "{} {}",
            ONES[h as usize],
            if m < 10 {
                format!("oh {}", ONES[m as usize])
            } else {
                two_digit(m)
            }
        ),
        1 => format!("half past {}", ONES[h as usize]),
        2 => format!(
            "quarter {} {}",
            pick(rng, &["to", "past"]),
            ONES[h as usize]
        ),
        3 => format!("{h}:{m:02}"),
        4 => format!("{} o'clock", ONES[h as usize]),
        5 => format!(
            "{} minutes past {}",
            two_digit(m % 30 + 1),
            ONES[h as usize]
        ),
        6 if side == Side::Heldout => format!("{}{}", h, pick(rng, &["am", "pm"])),
        _ => format!("{h}.{m:02}"),
    };
    format!("{t} {ampm}").trim().to_string()
}

/// Dates without a month: day-only, weekdays, relative, seasons, month alone, year alone.
pub fn when(rng: &mut R, side: Side) -> String {
    let wd = pick(rng, &super::lex::WEEKDAYS);
    let d = rng.gen_range(1..32u32);
    let mon = pick(rng, &super::lex::MONTHS);
    let y = rng.gen_range(1990..2030u32);
    match rng.gen_range(0..14) {
        0 => format!("on the {}", super::values::ordinal_words(d)),
        1 => format!("on the {}", super::values::ordinal_suffix(d)),
        2 => format!(
            "{} {wd}",
            pick(rng, &["next", "last", "this", "coming", "on"])
        ),
        3 => pick(
            rng,
            &[
                "yesterday",
                "today",
                "tomorrow",
                "day before yesterday",
                "day after tomorrow",
                "last week",
                "next month",
                "last year",
                "this morning",
                "the other day",
            ],
        )
        .to_string(),
        4 => format!(
            "{} {}",
            pick(rng, &["last", "this", "next", "in the"]),
            pick(
                rng,
                &[
                    "summer",
                    "winter",
                    "monsoon",
                    "spring",
                    "autumn",
                    "festive season",
                    "holidays"
                ]
            )
        ),
        5 => format!(
            "{} {mon}",
            pick(
                rng,
                &["in", "since", "sometime in", "end of", "early", "by"]
            )
        ),
        6 => format!(
            "in {}",
            if rng.gen_bool(0.5) {
                y.to_string()
            } else {
                super::values::spoken_year(rng, y)
            }
        ),
        7 => format!(
            "{} {} ago",
            number_words(rng.gen_range(2..12), false),
            pick(rng, &["days", "weeks", "months", "years"])
        ),
        8 => format!("{wd} the {}", super::values::ordinal_words(d)),
        9 => format!("every {wd}"),
        10 => format!(
            "within {} working days",
            number_words(rng.gen_range(2..15), false)
        ),
        11 if side == Side::Heldout => {
            format!("the {} of this month", super::values::ordinal_words(d))
        }
        12 => format!("by the {}", super::values::ordinal_suffix(d)),
        _ => format!(
            "for {} {}",
            number_words(rng.gen_range(2..30), false),
            pick(rng, &["days", "hours", "weeks"])
        ),
    }
}

/// OTPs, PINs, CVVs, extensions, last-four and partial numbers, with their carrier.
pub fn secret(rng: &mut R, side: Side) -> String {
    let (carrier, n): (&str, usize) = match rng.gen_range(0..8) {
        0 => (
            pick(rng, &["the otp is", "otp", "the code is"]),
            if rng.gen_bool(0.5) { 4 } else { 6 },
        ),
        1 => (pick(rng, &["my pin is", "atm pin", "the pin"]), 4),
        2 => (
            pick(
                rng,
                &["the cvv is", "cvv", "the three digits on the back are"],
            ),
            3,
        ),
        3 => (
            pick(rng, &["extension", "ext", "extension number"]),
            rng.gen_range(3..6),
        ),
        4 => (
            pick(
                rng,
                &["card ending in", "the last four digits are", "last four"],
            ),
            4,
        ),
        5 => (
            pick(rng, &["the number starts with", "the first few digits are"]),
            rng.gen_range(3..6),
        ),
        6 => (pick(rng, &["amex cvv", "the four digit code"]), 4),
        _ => (pick(rng, &["mpin", "upi pin", "the passcode"]), 6),
    };
    let ds = rand_digits(rng, n);
    let v = say_digits(rng, side, &ds, &[3, 3]);
    format!("{carrier} {v}")
}

/// Counts, room/flat/house numbers, percentages, quantities.
pub fn misc(rng: &mut R, side: Side) -> String {
    let n = rng.gen_range(2..60u64);
    let room = rng.gen_range(101..2999u64);
    let room_s = match rng.gen_range(0..3) {
        0 => room.to_string(),
        1 => number_words(room, false),
        _ => {
            let ds: Vec<u8> = room.to_string().bytes().map(|b| b - b'0').collect();
            speak_digits(&ds, Speak::random(rng)).join(" ")
        }
    };
    match rng.gen_range(0..8) {
        0 => format!(
            "{} {} percent",
            pick(rng, &["about", "around", "almost", ""]),
            number_words(n, false)
        )
        .trim()
        .to_string(),
        1 => format!("{n}%"),
        2 => format!(
            "{} {room_s}",
            pick(
                rng,
                &[
                    "room",
                    "flat",
                    "flat no",
                    "house number",
                    "door number",
                    "plot"
                ]
            )
        ),
        3 => format!(
            "{} {}",
            number_words(n, false),
            pick(
                rng,
                &["items", "calls", "times", "messages", "emails", "people"]
            )
        ),
        4 => format!(
            "{} {}",
            pick(rng, &["floor", "block", "tower", "gate", "counter"]),
            number_words(n % 20 + 1, false)
        ),
        5 if side == Side::Heldout => format!("unit {room_s}"),
        6 => format!("{} gb", number_words(n, false)),
        _ => format!("{n} {}", pick(rng, &["units", "kg", "litres", "boxes"])),
    }
}

/// Unlabelled value for a negative slot, or `None` when the slot is not one of these.
pub fn render(rng: &mut R, side: Side, slot: &str) -> Option<String> {
    Some(match slot {
        "ident" => ident(rng, side),
        "refcode" => ref_code(rng, side),
        "money" => money(rng, side),
        "clock" => time(rng, side),
        "when" => when(rng, side),
        "secret" => secret(rng, side),
        "misc" => misc(rng, side),
        "cvv" | "ext" => {
            let n = if slot == "cvv" {
                3
            } else {
                rng.gen_range(2..6)
            };
            let ds = rand_digits(rng, n);
            say_digits(rng, side, &ds, &[3, 3])
        }
        "region" => match side {
            Side::Train => pick(rng, super::lex::REGIONS),
            Side::Heldout => pick(rng, super::lex::REGIONS_HO),
        }
        .to_string(),
        "hardneg" => match rng.gen_range(0..10) {
            0..=4 => ident(rng, side),
            5 => ref_code(rng, side),
            6 => secret(rng, side),
            7 => money(rng, side),
            8 => time(rng, side),
            _ => when(rng, side),
        },
        _ => return None,
    })
}
