//! A small ONNX graph builder over the hand-declared protobuf messages.

use super::proto::{
    attribute_type, data_type, tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// ONNX IR version written (IR 8 goes with opset 17).
pub const IR_VERSION: i64 = 8;
/// Default-domain opset.
pub const OPSET: i64 = 17;
/// Contrib-op domain of ONNX Runtime.
pub const MS_DOMAIN: &str = "com.microsoft";

/// A dimension of a graph input or output.
#[derive(Clone, Debug)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A symbolic size such as `"batch"`.
    Named(&'static str),
}

/// Builds a `GraphProto` node by node.
#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    counter: usize,
    uses_ms: bool,
}

/// An attribute of a node.
pub fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(attribute_type::INT), i: Some(v), ..Default::default() }
}

/// A float attribute.
pub fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(attribute_type::FLOAT), f: Some(v), ..Default::default() }
}

/// An int-list attribute.
pub fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(attribute_type::INTS), ints: v.to_vec(), ..Default::default() }
}

/// A string attribute.
#[allow(dead_code)]
pub fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::STRING),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

fn value_info(name: &str, elem_type: i32, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                Dim::Named(s) => tensor_shape_proto::dimension::Value::DimParam((*s).to_string()),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

fn tensor(name: &str, dims: &[usize], dtype: i32, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(dtype),
        raw_data: Some(raw),
        ..Default::default()
    }
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh value name with a readable prefix.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// Declares a graph input.
    pub fn input(&mut self, name: &str, elem_type: i32, dims: &[Dim]) -> String {
        self.inputs.push(value_info(name, elem_type, dims));
        name.to_string()
    }

    /// Declares a graph output.
    pub fn output(&mut self, name: &str, elem_type: i32, dims: &[Dim]) {
        self.outputs.push(value_info(name, elem_type, dims));
    }

    /// A float initializer (`dims` empty for a scalar).
    pub fn init_f32(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "initializer {name}: shape/data mismatch");
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(tensor(name, dims, data_type::FLOAT, raw));
        name.to_string()
    }

    /// An int8 initializer.
    pub fn init_i8(&mut self, name: &str, dims: &[usize], data: &[i8]) -> String {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "initializer {name}: shape/data mismatch");
        let raw = data.iter().map(|&v| v as u8).collect();
        self.initializers.push(tensor(name, dims, data_type::INT8, raw));
        name.to_string()
    }

    /// An int64 initializer.
    pub fn init_i64(&mut self, name: &str, dims: &[usize], data: &[i64]) -> String {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "initializer {name}: shape/data mismatch");
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(tensor(name, dims, data_type::INT64, raw));
        name.to_string()
    }

    /// A float scalar constant with a generated name.
    pub fn scalar_f32(&mut self, prefix: &str, v: f32) -> String {
        let n = self.fresh(prefix);
        self.init_f32(&n, &[], &[v])
    }

    /// A 1-D int64 constant with a generated name.
    pub fn const_i64(&mut self, prefix: &str, v: &[i64]) -> String {
        let n = self.fresh(prefix);
        self.init_i64(&n, &[v.len()], v)
    }

    /// Adds a node with `n_out` outputs (generated names) and returns them.
    pub fn node_n(
        &mut self,
        domain: &str,
        op: &str,
        inputs: &[&str],
        n_out: usize,
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        let outputs: Vec<String> = (0..n_out).map(|_| self.fresh(op)).collect();
        self.push_node(domain, op, inputs, &outputs, attrs);
        outputs
    }

    /// Adds a default-domain node with one generated output.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.node_n("", op, inputs, 1, attrs).pop().unwrap()
    }

    /// Adds a `com.microsoft` node with one generated output.
    pub fn ms_op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.node_n(MS_DOMAIN, op, inputs, 1, attrs).pop().unwrap()
    }

    /// Adds a node writing the named outputs.
    pub fn push_node(&mut self, domain: &str, op: &str, inputs: &[&str], outputs: &[String], attrs: Vec<AttributeProto>) {
        if domain == MS_DOMAIN {
            self.uses_ms = true;
        }
        let name = format!("{op}_n{}", self.nodes.len());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.to_vec(),
            name: Some(name),
            op_type: Some(op.into()),
            domain: if domain.is_empty() { None } else { Some(domain.into()) },
            attribute: attrs,
            doc_string: None,
        });
    }

    /// Renames the value `from` to `to` by adding an Identity node (used for graph outputs).
    pub fn identity_as(&mut self, from: &str, to: &str) {
        self.push_node("", "Identity", &[from], &[to.to_string()], vec![]);
    }

    /// Finishes the model.
    pub fn into_model(self, graph_name: &str, doc: &str) -> ModelProto {
        let mut opset_import = vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }];
        if self.uses_ms {
            opset_import.push(OperatorSetIdProto { domain: Some(MS_DOMAIN.into()), version: Some(1) });
        }
        ModelProto {
            ir_version: Some(IR_VERSION),
            opset_import,
            producer_name: Some("pii-trainer".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            domain: None,
            model_version: Some(1),
            doc_string: Some(doc.into()),
            graph: Some(GraphProto {
                node: self.nodes,
                name: Some(graph_name.into()),
                initializer: self.initializers,
                doc_string: None,
                input: self.inputs,
                output: self.outputs,
                value_info: vec![],
            }),
            metadata_props: vec![],
        }
    }
}

/// Serializes a model to protobuf bytes.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    prost::Message::encode_to_vec(model)
}
