//! ONNX export: hand-declared protobuf messages ([`proto`]), a graph builder ([`graph`]),
//! the BERT token classifier graph ([`bert`]), int8 weight quantization ([`quant`]), the
//! checkpoint directory ([`checkpoint`]) and an ONNX Runtime runner ([`runtime`]).

pub mod bert;
pub mod checkpoint;
pub mod graph;
pub mod proto;
pub mod quant;
pub mod runtime;

#[cfg(test)]
pub mod tests;
