//! `pii-trainer`: generate STT training data, fine-tune, export ONNX, predict, evaluate.

use clap::{Parser, Subcommand};

mod ablate;
mod augment;
mod bert;
mod corpus;
mod data;
mod distill;
mod eval;
mod export;
mod features;
mod floor;
mod generate;
mod onnx;
mod pipeline;
mod optim;
mod predict;
mod prune;
mod report;
mod resume;
mod train;
mod tune;

#[derive(Parser)]
#[command(name = "pii-trainer", version, about = "Train and evaluate the pii tagger model")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write train/dev/held-out jsonl sets from the STT utterance generator.
    Generate(generate::Args),
    /// Convert the hand-written corpus (markup) into train/dev/challenge jsonl, split by writer.
    Corpus(corpus::Args),
    /// Augmented copies of training lines (entity forms swapped, fillers added) for distillation.
    Augment(augment::Args),
    /// Fine-tune a BERT-family encoder as a token classifier (candle, CPU).
    Train(train::Args),
    /// Train a (narrower) student on a teacher checkpoint's soft targets and the gold tags.
    Distill(train::Args),
    /// The shipped model from nothing: data, teacher, distilled student, exports, report (resumable).
    Pipeline(pipeline::Args),
    /// Write a model directory (ONNX int8 + fp32, tokenizer, manifest) from a checkpoint.
    Export(export::Args),
    /// Write the tiny test fixture model used by the library's tests.
    Fixture(export::FixtureArgs),
    /// Tag a jsonl file with a model directory through the pii library.
    Predict(predict::Args),
    /// Score predictions against gold spans.
    Eval(eval::Args),
    /// The quality table of a model on every evaluation set (Markdown).
    Report(report::Args),
    /// Choose per-label score thresholds on dev sets and write them into a manifest.
    Tune(tune::Args),
    /// The decoding ablation table: each decoding step scored and timed, per model.
    Ablate(ablate::Args),
    /// A model's time as a multiple of its int8 GEMM floor measured on this machine.
    Floor(floor::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Generate(a) => generate::run(a),
        Cmd::Corpus(a) => corpus::run(a),
        Cmd::Augment(a) => augment::run(a),
        Cmd::Train(a) => train::run(a),
        Cmd::Distill(a) => {
            if a.teacher.is_none() {
                anyhow::bail!("distill needs --teacher <checkpoint>");
            }
            train::run(a)
        }
        Cmd::Pipeline(a) => pipeline::run(a),
        Cmd::Export(a) => export::run(a),
        Cmd::Fixture(a) => export::run_fixture(a),
        Cmd::Predict(a) => predict::run(a),
        Cmd::Eval(a) => eval::run(a),
        Cmd::Tune(a) => tune::run(a),
        Cmd::Report(a) => report::run(a),
        Cmd::Ablate(a) => ablate::run(a),
        Cmd::Floor(a) => floor::run(a),
    }
}
