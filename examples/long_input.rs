//! Time and peak memory of tagging one very long input (a whole call or more in one string).
//!
//! usage: cargo run --release --example long_input -- MODEL_DIR TEXT_FILE MEGABYTES [whole]
//! Builds a text of MEGABYTES from TEXT_FILE's lines, tags it once, and prints the seconds,
//! the spans found and the growth of peak RSS (VmHWM) over the loaded model. `whole` tags
//! the text in one piece instead of segments (the behaviour before bounded segments).

mod common;

fn peak_rss_kib() -> u64 {
    common::status_kib("VmHWM:")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: long_input MODEL_DIR TEXT_FILE MEGABYTES [whole]");
        std::process::exit(2);
    }
    let model = pii::Model::load(std::path::Path::new(&args[1]), &pii::Options::default()).unwrap_or_else(|e| {
        eprintln!("load: {e}");
        std::process::exit(1);
    });
    let lines = std::fs::read_to_string(&args[2]).expect("read TEXT_FILE");
    let lines: Vec<&str> = lines.lines().filter(|l| !l.trim().is_empty()).collect();
    let bytes = (args[3].parse::<f64>().expect("MEGABYTES") * 1e6) as usize;
    let mut text = String::with_capacity(bytes + 256);
    for l in lines.iter().cycle() {
        if text.len() >= bytes {
            break;
        }
        text.push_str(l);
        text.push(' ');
    }
    let whole = args.get(4).map(String::as_str) == Some("whole");
    model.tag("warm up the session").expect("tag");
    let before = peak_rss_kib();
    let t = std::time::Instant::now();
    let spans = if whole { model.tag_in_segments(&text, usize::MAX / 2, 0) } else { model.tag(&text) }.expect("tag");
    let secs = t.elapsed().as_secs_f64();
    let grew = peak_rss_kib().saturating_sub(before);
    println!(
        "{} MB {}: {:.1} s ({:.1} s/MB), {} spans, peak RSS +{:.0} MiB",
        text.len() as f64 / 1e6,
        if whole { "whole" } else { "segments" },
        secs,
        secs / (text.len() as f64 / 1e6),
        spans.len(),
        grew as f64 / 1024.0
    );
}
