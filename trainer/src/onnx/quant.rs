//! Symmetric int8 weight quantization.

/// Quantizes a row-major `[rows, cols]` matrix with one symmetric scale per column:
/// `w[r][c] ≈ q[r][c] * scale[c]`, `q` in `-127..=127`.
pub fn per_column(w: &[f32], rows: usize, cols: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(w.len(), rows * cols);
    let mut max = vec![0f32; cols];
    for r in 0..rows {
        for (c, m) in max.iter_mut().enumerate() {
            *m = m.max(w[r * cols + c].abs());
        }
    }
    let scale: Vec<f32> = max.iter().map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 }).collect();
    let q = w
        .iter()
        .enumerate()
        .map(|(i, &v)| (v / scale[i % cols]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, scale)
}

/// Quantizes a row-major `[rows, cols]` matrix with one symmetric scale per row.
pub fn per_row(w: &[f32], rows: usize, cols: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(w.len(), rows * cols);
    let mut q = Vec::with_capacity(w.len());
    let mut scale = Vec::with_capacity(rows);
    for row in w.chunks(cols) {
        let m = row.iter().fold(0f32, |a, v| a.max(v.abs()));
        let s = if m > 0.0 { m / 127.0 } else { 1.0 };
        scale.push(s);
        q.extend(row.iter().map(|&v| (v / s).round().clamp(-127.0, 127.0) as i8));
    }
    (q, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_column_and_row_reconstruct() {
        let w = [0.5f32, -2.0, 0.0, 0.25, 1.0, 0.0];
        let (q, s) = per_column(&w, 2, 3);
        assert_eq!(s.len(), 3);
        assert_eq!(s[2], 1.0);
        for (i, v) in w.iter().enumerate() {
            assert!((q[i] as f32 * s[i % 3] - v).abs() <= s[i % 3] / 2.0 + 1e-7);
        }
        assert_eq!(q[1], -127);
        let (q, s) = per_row(&w, 2, 3);
        assert_eq!(s.len(), 2);
        for (i, v) in w.iter().enumerate() {
            assert!((q[i] as f32 * s[i / 3] - v).abs() <= s[i / 3] / 2.0 + 1e-7);
        }
    }
}
