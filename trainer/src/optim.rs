//! AdamW applied in place to candle parameter storage (dense, and lazily by rows for the word
//! embedding), gradient clipping, and the warmup + linear-decay learning-rate schedule.

use anyhow::{bail, Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp1, Layout, Storage, Tensor, Var};
use std::cell::RefCell;

use crate::bert::no_decay;

/// Gradients of one part of a batch: the dense ones and, for the word embedding, the
/// gradient of the looked-up rows with their ids.
pub struct PartGrads {
    pub loss: f32,
    pub grads: GradStore,
    pub word_ids: Vec<u32>,
    pub word_rows: Tensor,
}

/// Per-step AdamW constants.
#[derive(Clone, Copy)]
struct Hyper {
    b1: f32,
    b2: f32,
    eps: f32,
    /// lr / (1 - beta1^t)
    step: f32,
    /// 1 / (1 - beta2^t)
    inv_bc2: f32,
    /// 1 - lr * weight_decay
    decay: f32,
    /// gradient clipping factor
    gscale: f32,
}

#[inline]
fn adam_one(p: &mut f32, m: &mut f32, v: &mut f32, g: f32, h: &Hyper) {
    let g = g * h.gscale;
    *m = h.b1 * *m + (1.0 - h.b1) * g;
    *v = h.b2 * *v + (1.0 - h.b2) * g * g;
    *p = *p * h.decay - h.step * *m / ((*v * h.inv_bc2).sqrt() + h.eps);
}

/// Adam update of a contiguous block from the sum of the gradient slices `gs`.
fn adam_block(p: &mut [f32], m: &mut [f32], v: &mut [f32], gs: &[&[f32]], h: &Hyper) {
    match gs {
        [] => {
            for ((p, m), v) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()) {
                adam_one(p, m, v, 0.0, h);
            }
        }
        [a] => {
            for (((p, m), v), a) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(a.iter()) {
                adam_one(p, m, v, *a, h);
            }
        }
        [a, b] => {
            for ((((p, m), v), a), b) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(a.iter()).zip(b.iter()) {
                adam_one(p, m, v, *a + *b, h);
            }
        }
        _ => {
            for i in 0..p.len() {
                let g: f32 = gs.iter().map(|g| g[i]).sum();
                adam_one(&mut p[i], &mut m[i], &mut v[i], g, h);
            }
        }
    }
}

/// The in-place update of one parameter: dense (`rows` = None) or only the given rows of
/// width `width` (lazy, like PyTorch's SparseAdam, for the word embedding).
struct AdamUpdate<'a> {
    grads: &'a [&'a [f32]],
    rows: Option<(&'a [u32], usize)>,
    state: RefCell<(&'a mut [f32], &'a mut [f32])>,
    hyper: Hyper,
}

impl InplaceOp1 for AdamUpdate<'_> {
    fn name(&self) -> &'static str {
        "adamw-inplace"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(p) = storage else {
            return Err(candle_core::Error::Msg("adamw: parameters must be f32".into()));
        };
        let (a, b) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("adamw: parameter not contiguous".into()))?;
        let p = &mut p[a..b];
        let mut st = self.state.borrow_mut();
        let (m, v) = &mut *st;
        match self.rows {
            None => adam_block(p, m, v, self.grads, &self.hyper),
            Some((rows, w)) => {
                let g = self.grads[0];
                for &r in rows {
                    let r = r as usize * w..(r as usize + 1) * w;
                    adam_block(&mut p[r.clone()], &mut m[r.clone()], &mut v[r.clone()], &[&g[r]], &self.hyper);
                }
            }
        }
        Ok(())
    }
}

fn f32_slice<'a>(st: &'a Storage, layout: &Layout) -> Result<&'a [f32]> {
    let (a, b) = layout.contiguous_offsets().context("gradient not contiguous")?;
    match st {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(&v[a..b]),
        _ => bail!("gradient is not a CPU f32 tensor"),
    }
}

fn sq_norm(gs: &[&[f32]]) -> f64 {
    match gs {
        [] => 0.0,
        [a] => a.iter().map(|&x| (x * x) as f64).sum(),
        _ => (0..gs[0].len())
            .map(|i| {
                let s: f32 = gs.iter().map(|g| g[i]).sum();
                (s * s) as f64
            })
            .sum(),
    }
}

/// AdamW applied in place to each parameter's storage, summing the gradients of the parts.
/// The word embedding (when `sparse_word` is set) is updated lazily: only the rows looked up
/// in the step (its gradient is zero elsewhere), which avoids a dense vocab x hidden
/// gradient and update every step.
pub struct AdamW {
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: i32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    threads: usize,
    /// Index of the word embedding in the parameter list.
    word: Option<usize>,
    word_width: usize,
    word_buf: Vec<f32>,
    word_seen: Vec<bool>,
}

impl AdamW {
    pub fn new(params: &[(String, Var)], weight_decay: f32, threads: usize) -> Self {
        let word = params.iter().position(|(n, _)| n == "embeddings.word_embeddings.weight");
        let (word_width, word_buf, word_seen) = match word {
            Some(i) => {
                let (r, c) = params[i].1.dims2().expect("word embedding is 2-D");
                (c, vec![0f32; r * c], vec![false; r])
            }
            None => (0, Vec::new(), Vec::new()),
        };
        AdamW {
            m: params.iter().map(|(_, v)| vec![0f32; v.elem_count()]).collect(),
            v: params.iter().map(|(_, v)| vec![0f32; v.elem_count()]).collect(),
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            threads: threads.max(1),
            word,
            word_width,
            word_buf,
            word_seen,
        }
    }

    /// Steps taken and the first and second moment estimates (one vector per parameter), to
    /// resume a run.
    pub fn state(&self) -> (i32, &[Vec<f32>], &[Vec<f32>]) {
        (self.t, &self.m, &self.v)
    }

    /// Restore a [`state`](Self::state) saved for the same parameter list.
    pub fn restore(&mut self, t: i32, m: Vec<Vec<f32>>, v: Vec<Vec<f32>>) -> Result<()> {
        let same = |x: &[Vec<f32>]| x.len() == self.m.len() && x.iter().zip(&self.m).all(|(a, b)| a.len() == b.len());
        if !same(&m) || !same(&v) {
            anyhow::bail!("optimizer state does not fit these parameters");
        }
        (self.t, self.m, self.v) = (t, m, v);
        Ok(())
    }

    /// One step from the parts' gradients. `lr(name)` gives each parameter's learning
    /// rate. Returns the gradient norm before clipping.
    pub fn step(
        &mut self,
        params: &[(String, Var)],
        parts: &[PartGrads],
        lr: &(dyn Fn(&str) -> f32 + Sync),
        clip: f32,
    ) -> Result<f32> {
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t);
        let bc2 = 1.0 - self.beta2.powi(self.t);
        // Scatter the word rows' gradients into the persistent buffer.
        let mut rows: Vec<u32> = Vec::new();
        if let Some(_wi) = self.word {
            let w = self.word_width;
            for p in parts {
                let (st, l) = p.word_rows.storage_and_layout();
                let g = f32_slice(&st, l)?;
                for (i, &id) in p.word_ids.iter().enumerate() {
                    let r = id as usize;
                    if !self.word_seen[r] {
                        self.word_seen[r] = true;
                        rows.push(id);
                    }
                    for (d, s) in self.word_buf[r * w..(r + 1) * w].iter_mut().zip(&g[i * w..(i + 1) * w]) {
                        *d += *s;
                    }
                }
            }
            rows.sort_unstable();
        }
        // Contiguous dense gradients per parameter (the word embedding has none).
        let gts: Vec<Vec<Tensor>> = params
            .iter()
            .enumerate()
            .map(|(i, (_, v))| {
                if Some(i) == self.word {
                    return Ok(Vec::new());
                }
                parts
                    .iter()
                    .filter_map(|p| p.grads.get(v.as_tensor()))
                    .map(|t| t.contiguous())
                    .collect::<candle_core::Result<Vec<_>>>()
            })
            .collect::<candle_core::Result<_>>()?;
        let guards: Vec<Vec<_>> = gts.iter().map(|ts| ts.iter().map(|t| t.storage_and_layout()).collect()).collect();
        let mut slices: Vec<Vec<&[f32]>> = guards
            .iter()
            .map(|gs| gs.iter().map(|(s, l)| f32_slice(s, l)).collect::<Result<Vec<_>>>())
            .collect::<Result<_>>()?;
        if let Some(wi) = self.word {
            slices[wi] = vec![&self.word_buf];
        }
        // Global norm of the summed gradient.
        let mut sq = 0f64;
        for (i, gs) in slices.iter().enumerate() {
            if Some(i) == self.word {
                let w = self.word_width;
                for &r in &rows {
                    sq += sq_norm(&[&self.word_buf[r as usize * w..(r as usize + 1) * w]]);
                }
            } else {
                sq += sq_norm(gs);
            }
        }
        let norm = sq.sqrt() as f32;
        let gscale = if clip > 0.0 && norm > clip { clip / norm } else { 1.0 };
        // Updates, the parameters shared out over the threads by size.
        let mut order: Vec<usize> = (0..params.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(params[i].1.elem_count()));
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.threads];
        let mut load = vec![0usize; self.threads];
        for i in order {
            let cost = if Some(i) == self.word { rows.len() * self.word_width } else { params[i].1.elem_count() };
            let g = (0..self.threads).min_by_key(|&g| load[g]).unwrap();
            load[g] += cost;
            groups[g].push(i);
        }
        let mut states: Vec<Option<(&mut Vec<f32>, &mut Vec<f32>)>> =
            self.m.iter_mut().zip(self.v.iter_mut()).map(Some).collect();
        let mut jobs: Vec<Vec<(usize, (&mut Vec<f32>, &mut Vec<f32>))>> = Vec::new();
        for g in &groups {
            jobs.push(g.iter().map(|&i| (i, states[i].take().unwrap())).collect());
        }
        let (b1, b2, eps, wd, word, width) = (self.beta1, self.beta2, self.eps, self.weight_decay, self.word, self.word_width);
        let slices = &slices;
        let rows_ref = &rows;
        let run_job = move |job: Vec<(usize, (&mut Vec<f32>, &mut Vec<f32>))>| -> Result<()> {
            for (i, (m, v)) in job {
                let (name, var) = &params[i];
                let lr = lr(name);
                let hyper = Hyper {
                    b1,
                    b2,
                    eps,
                    step: lr / bc1,
                    inv_bc2: 1.0 / bc2,
                    decay: 1.0 - lr * if no_decay(name) { 0.0 } else { wd },
                    gscale,
                };
                let op = AdamUpdate {
                    grads: &slices[i],
                    rows: if Some(i) == word { Some((rows_ref.as_slice(), width)) } else { None },
                    state: RefCell::new((m.as_mut_slice(), v.as_mut_slice())),
                    hyper,
                };
                var.as_tensor().inplace_op1(&op)?;
            }
            Ok(())
        };
        if jobs.len() == 1 {
            run_job(jobs.pop().unwrap())?;
        } else {
            let rs: Vec<Result<()>> = std::thread::scope(|sc| {
                let hs: Vec<_> = jobs.into_iter().map(|j| sc.spawn(move || run_job(j))).collect();
                hs.into_iter().map(|h| h.join().expect("optimizer worker panicked")).collect()
            });
            for r in rs {
                r?;
            }
        }
        drop(guards);
        // Clear the word buffer's touched rows.
        let w = self.word_width;
        for &r in &rows {
            self.word_buf[r as usize * w..(r as usize + 1) * w].fill(0.0);
            self.word_seen[r as usize] = false;
        }
        Ok(norm)
    }
}

/// Learning-rate factor at `step`: linear warmup over `warmup` steps, then linear decay to 0.
pub fn lr_factor(step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        (step + 1) as f64 / warmup as f64
    } else {
        let rest = (total - warmup).max(1);
        ((total - step) as f64 / rest as f64).max(0.0)
    }
}
