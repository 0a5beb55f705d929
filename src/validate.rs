//! Validators for structured PII: spoken and written digit runs, e-mail and date shapes, and
//! the words that never belong at the edge of a name. [`crate::decode`] uses them to veto,
//! extend, merge or relabel the model's spans.

/// Which validators run (a bit set; [`Validators::ALL`] by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validators(pub u32);

impl Validators {
    /// None: spans as the model decoded them.
    pub const NONE: Validators = Validators(0);
    /// PHONE and CREDIT_CARD spans cover one whole digit run of a plausible length: fragments
    /// of one run merge, the span extends to the whole run, the label follows the length (and
    /// Luhn), runs too short or too long are dropped.
    pub const NUMBERS: Validators = Validators(1);
    /// EMAIL spans contain "at" (or "@") and a dotted domain; a trailing "dot <word>" is added.
    pub const EMAIL: Validators = Validators(2);
    /// DATE spans contain a month: a month name, or a numeric d/m(/y) form.
    pub const DATE: Validators = Validators(4);
    /// PERSON_NAME spans lose titles, honorifics and function words at their edges.
    pub const NAME: Validators = Validators(8);
    /// Every validator.
    pub const ALL: Validators = Validators(15);

    /// The validator called `name` in a manifest (`numbers`, `email`, `date`, `name`).
    pub fn named(name: &str) -> Option<Validators> {
        Some(match name {
            "numbers" => Validators::NUMBERS,
            "email" => Validators::EMAIL,
            "date" => Validators::DATE,
            "name" => Validators::NAME,
            _ => return None,
        })
    }

    /// True when every bit of `other` is set.
    pub fn has(self, other: Validators) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Digits a single spoken word stands for, for words that are whole digit groups.
fn word_digits(w: &str) -> Option<&'static str> {
    Some(match w {
        "zero" | "oh" | "o" | "nought" | "naught" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        "ten" => "10",
        "eleven" => "11",
        "twelve" => "12",
        "thirteen" => "13",
        "fourteen" => "14",
        "fifteen" => "15",
        "sixteen" => "16",
        "seventeen" => "17",
        "eighteen" => "18",
        "nineteen" => "19",
        _ => return None,
    })
}

fn tens(w: &str) -> Option<u8> {
    Some(match w {
        "twenty" => 2,
        "thirty" => 3,
        "forty" | "fourty" => 4,
        "fifty" => 5,
        "sixty" => 6,
        "seventy" => 7,
        "eighty" => 8,
        "ninety" => 9,
        _ => return None,
    })
}

/// Digits of a written token made of digits and `+ - . / ( )` only (at least one digit).
fn written_digits(w: &str) -> Option<String> {
    if !w.bytes().any(|b| b.is_ascii_digit()) || !w.bytes().all(|b| b.is_ascii_digit() || b"+-./()".contains(&b)) {
        return None;
    }
    Some(w.bytes().filter(u8::is_ascii_digit).map(char::from).collect())
}

const FILLERS: &[&str] = &["uh", "um", "umm", "er", "erm", "ah", "hmm", "mm"];
const JOINERS: &[&str] = &["dash", "hyphen", "-", "space"];

/// A maximal run of number words: words `start..end`, the digits they spell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitRun {
    pub start: usize,
    pub end: usize,
    pub digits: String,
    /// The run begins with "plus" or "+".
    pub plus: bool,
}

/// Is `words[i]` a word that carries digits ("double" counts when a digit word follows)?
fn number_word(words: &[&str], i: usize) -> bool {
    let w = words[i];
    word_digits(w).is_some()
        || tens(w).is_some()
        || written_digits(w).is_some()
        || (matches!(w, "double" | "triple" | "treble") && words.get(i + 1).is_some_and(|n| word_digits(n).is_some()))
        || (matches!(w, "hundred" | "thousand") && i > 0 && word_digits(words[i - 1]).is_some())
}

/// Every digit run of `words`. Fillers and "dash" inside a run stay inside it; "plus" may
/// open one. Spoken tens take a following unit ("ninety eight" is 98), "double"/"triple"
/// repeat the next digit, "hundred"/"thousand" after a digit add zeros.
pub fn digit_runs(words: &[&str]) -> Vec<DigitRun> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let plus = matches!(words[i], "plus" | "+") && i + 1 < words.len() && number_word(words, i + 1);
        if !plus && !number_word(words, i) {
            i += 1;
            continue;
        }
        let start = i;
        if plus {
            i += 1;
        }
        let mut digits = String::new();
        let mut end = i;
        let mut repeat = 1usize;
        while i < words.len() {
            let w = words[i];
            if number_word(words, i) {
                match w {
                    "double" => repeat = 2,
                    "triple" | "treble" => repeat = 3,
                    "hundred" => digits.push_str("00"),
                    "thousand" => digits.push_str("000"),
                    _ => {
                        if let Some(t) = tens(w) {
                            let unit = words.get(i + 1).and_then(|n| word_digits(n)).filter(|d| d.len() == 1 && *d != "0");
                            digits.push(char::from(b'0' + t));
                            match unit {
                                Some(u) => {
                                    digits.push_str(u);
                                    i += 1;
                                }
                                None => digits.push('0'),
                            }
                        } else {
                            let d = word_digits(w).map(str::to_string).or_else(|| written_digits(w)).unwrap_or_default();
                            for _ in 0..repeat {
                                digits.push_str(&d);
                            }
                            repeat = 1;
                        }
                    }
                }
                i += 1;
                end = i;
            } else if (FILLERS.contains(&w) || JOINERS.contains(&w)) && i + 1 < words.len() && number_word(words, i + 1) {
                i += 1;
            } else {
                break;
            }
        }
        out.push(DigitRun { start, end, digits, plus });
        i = end.max(start + 1);
    }
    out
}

/// The Luhn check of a digit string.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = (b - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// Plausible lengths: a card number has 13-19 digits; a phone number 8-13, up to 15 after
/// "plus" or the international prefix "00", and up to 12 after one trunk "0" (a national
/// number is at most 11 digits after it; 13 digits from a "0" is an id, not a phone).
pub fn card_length(n: usize) -> bool {
    (13..=19).contains(&n)
}

/// See [`card_length`]; `digits` is the run's digits, `plus` whether "plus" opened it.
pub fn phone_length(digits: &str, plus: bool) -> bool {
    let max = if plus || digits.starts_with("00") {
        15
    } else if digits.starts_with('0') {
        12
    } else {
        13
    };
    (8..=max).contains(&digits.len())
}

/// True for "at" forms of an e-mail address.
fn is_at(words: &[&str], i: usize) -> bool {
    let w = words[i];
    w == "at" || w == "@" || w == "at-the-rate" || w.contains('@')
}

/// True when `words` read as an e-mail address: an "at" (or a word containing "@") after the
/// first word or inside it, and a "dot" (or a dotted word) after it.
pub fn email_shape(words: &[&str]) -> bool {
    let Some(at) = (0..words.len()).find(|&i| is_at(words, i)) else {
        return false;
    };
    if words[at].contains('@') && words[at].len() > 1 {
        let domain = &words[at][words[at].find('@').unwrap() + 1..];
        if domain.contains('.') {
            return true;
        }
    } else if at == 0 {
        return false;
    }
    words[at + 1..].iter().any(|w| *w == "dot" || (w.contains('.') && w.len() > 1))
}

const MONTHS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];

/// The months said as ordinals ("the ninth of the eleventh").
const MONTH_ORDINALS: &[&str] = &[
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
];

/// True when `words` name a calendar date with a month: a month name, a written numeric date
/// (`03/11/1992`, `06/25`, `5-3-24`), number words joined by "slash", "dash" or "stroke", a
/// month ordinal ("of the eleventh"), or one spoken digit run that reads as a date: month and
/// expiry year ("oh eight twenty seven", "eleven twenty six": 08/27, 11/26; year 20-39, so
/// "ten forty" stays a time) or day, month and year ("twelve oh seven eighty nine").
pub fn date_shape(words: &[&str]) -> bool {
    let numeric = |w: &str| {
        let parts: Vec<&str> = w.split(['/', '-', '.']).collect();
        parts.len() >= 2 && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let number = |w: &str| !digit_runs(&[w]).is_empty();
    words.iter().any(|w| MONTHS.contains(w) || numeric(w))
        || words.windows(3).any(|t| matches!(t[1], "slash" | "dash" | "hyphen" | "stroke" | "/") && number(t[0]) && number(t[2]))
        || words.windows(3).any(|t| t[0] == "of" && t[1] == "the" && MONTH_ORDINALS.contains(&t[2]))
        || spoken_digit_date(words)
}

/// The whole span is one digit run whose digits read as `MM YY` (an expiry, year 20-39) or as
/// day, month and year in either order (`D M YY`, `DD MM YYYY`, ...).
fn spoken_digit_date(words: &[&str]) -> bool {
    let runs = digit_runs(words);
    let [run] = runs.as_slice() else { return false };
    if run.start != 0 || run.end != words.len() || run.plus {
        return false;
    }
    let d = run.digits.as_bytes();
    let num = |s: &[u8]| s.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0'));
    let month = |m: u32| (1..=12).contains(&m);
    let day = |x: u32| (1..=31).contains(&x);
    if (3..=4).contains(&d.len()) {
        let (m, y) = d.split_at(d.len() - 2);
        return month(num(m)) && (20..=39).contains(&num(y));
    }
    // Day and month of one or two digits each, then a year of two or four.
    [2, 4].into_iter().any(|ylen| {
        let Some((dm, y)) = d.len().checked_sub(ylen).map(|at| d.split_at(at)) else { return false };
        (ylen == 2 || (1900..=2099).contains(&num(y)))
            && (1..=2).filter(|&k| k < dm.len() && dm.len() - k <= 2).any(|k| {
                let (a, b) = (num(&dm[..k]), num(&dm[k..]));
                (day(a) && month(b)) || (month(a) && day(b))
            })
    })
}

/// Words that never start or end a person's name: titles, honorifics and function words.
pub fn name_edge_stopword(w: &str) -> bool {
    const STOP: &[&str] = &[
        "mr", "mrs", "ms", "miss", "mister", "missus", "mx", "dr", "doctor", "prof", "professor", "sir", "madam",
        "maam", "ma'am", "mam", "ji", "bhai", "bhaiya", "sahab", "sahib", "saab", "shri", "shrimati", "smt",
        "po", "opo", "aunty", "auntie", "uncle", "oga", "madame", "kuya", "ate", "dear", "haji", "hajji", "alhaji",
        "alhaja", "chief", "pastor", "mwalimu", "mama", "baba", "doña", "señora", "senora", "señor",
        "monsieur", "mademoiselle", "encik", "cik", "puan", "tuan", "datuk", "officer", "spelt", "spelled", "spelling", "the", "a", "an",
        "and", "is", "i", "i'm", "im", "my", "me", "from", "of", "to", "here", "speaking", "calling", "this",
        "that", "it's", "its", "am", "was", "name", "name's", "called", "yes", "no", "ok", "okay", "hello",
        "hi", "please", "thanks", "thank", "you", "sorry", "uh", "um", "so", "but", "or", "for", "with", "at",
        "on", "in", "he", "she", "his", "her", "they", "we", "our", "your", "dot", "dash",
    ];
    STOP.contains(&w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(t: &str) -> Vec<(String, String)> {
        let w: Vec<&str> = t.split(' ').collect();
        digit_runs(&w).into_iter().map(|r| (w[r.start..r.end].join(" "), r.digits)).collect()
    }

    #[test]
    fn spoken_and_written_numbers_become_digits() {
        let cases = [
            ("call nine eight four five oh one two three four five now", "nine eight four five oh one two three four five", "9845012345"),
            ("plus nine one double nine triple four five six seven eight", "plus nine one double nine triple four five six seven eight", "91994445678"),
            ("it is ninety eight forty five zero one twenty three", "ninety eight forty five zero one twenty three", "98450123"),
            ("card 4111-1111-1111-1111 ok", "4111-1111-1111-1111", "4111111111111111"),
            ("one eight hundred five five five", "one eight hundred five five five", "1800555"),
            ("nine eight uh four four dash one two", "nine eight uh four four dash one two", "984412"),
            ("+91 98450 12345", "+91 98450 12345", "919845012345"),
            ("born nineteen eighty seven", "nineteen eighty seven", "1987"),
            ("it's ninety", "ninety", "90"),
        ];
        for (text, words, digits) in cases {
            let got = runs(text);
            assert_eq!(got, vec![(words.to_string(), digits.to_string())], "{text}");
        }
        // A filler after the last digit, "oh" as an interjection, and "and" end runs.
        assert_eq!(runs("four two uh then"), vec![("four two".into(), "42".into())]);
        assert_eq!(runs("one two and three"), vec![("one two".into(), "12".into()), ("three".into(), "3".into())]);
        assert!(runs("double check the address").is_empty());
    }

    #[test]
    fn c_constants_match() {
        use crate::ffi::*;
        assert_eq!(
            [PII_VALIDATE_NUMBERS, PII_VALIDATE_EMAIL, PII_VALIDATE_DATE, PII_VALIDATE_NAME, PII_VALIDATE_ALL],
            [Validators::NUMBERS.0, Validators::EMAIL.0, Validators::DATE.0, Validators::NAME.0, Validators::ALL.0]
        );
    }

    #[test]
    fn luhn_and_lengths() {
        assert!(luhn("4111111111111111") && luhn("378282246310005") && !luhn("4111111111111112"));
        assert!(card_length(16) && card_length(15) && !card_length(12));
        assert!(phone_length("9845012345", false) && !phone_length("98450123451234", false));
        assert!(phone_length("44784501234512", true) && !phone_length("984501", false));
        assert!(phone_length("2348031234567", false) && !phone_length("0194472638812", false));
        assert!(phone_length("004478450123451", false) && phone_length("091984501234", false));
    }

    #[test]
    fn email_and_date_shapes() {
        let w = |t: &'static str| t.split(' ').collect::<Vec<_>>();
        assert!(email_shape(&w("priya dot rao at gmail dot com")));
        assert!(email_shape(&w("a n a n d at the rate outlook dot com")));
        assert!(email_shape(&w("a.rao@gmail.com")));
        assert!(!email_shape(&w("priya dot rao")));
        assert!(!email_shape(&w("at gmail dot com")));
        assert!(!email_shape(&w("sam at home")));
        assert!(date_shape(&w("twelfth august nineteen eighty seven")));
        assert!(date_shape(&w("03/11/1992")) && date_shape(&w("06/25")));
        assert!(date_shape(&w("three slash nine slash twenty nineteen")));
        assert!(!date_shape(&w("monday")) && !date_shape(&w("the twenty second")) && !date_shape(&w("ten forty")));
        assert!(!date_shape(&w("twenty nineteen")));
        // Spoken digit dates, month ordinals and "stroke".
        for t in ["oh eight twenty seven", "eleven twenty six", "twelve oh seven eighty nine", "thirty stroke eleven stroke nineteen sixty two"] {
            assert!(date_shape(&w(t)), "{t}");
        }
        assert!(date_shape(&w("the nineteenth of the ninth thirty nine")) && date_shape(&w("12th mar")));
        for t in ["twenty twenty six", "nineteen sixty two", "two thousand sixteen", "plus ninety one", "twenty third", "fourth day of", "expiry oh eight twenty seven"] {
            assert!(!date_shape(&w(t)), "{t}");
        }
    }
}
