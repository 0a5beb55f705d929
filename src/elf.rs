//! A structural check of a shared library file before `dlopen` maps it.
//!
//! glibc's loader maps each `PT_LOAD` segment of a library with `mmap` and then reads it; a
//! segment that reaches past the end of the file (a truncated copy, an interrupted download)
//! faults with SIGBUS inside `dlopen` and kills the host process. [`check_shared_object`]
//! reads only the ELF header and the program header table and refuses such files with a
//! message, so the caller can return an error instead. It is not a signature check: a file
//! that is well formed but not what it claims to be is still loaded, and a file replaced
//! between this check and `dlopen` is not seen.

use std::io::Read;
use std::path::Path;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
/// More program headers than any real library has; bounds the read.
const MAX_PHNUM: usize = 4096;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Check that `path` is an ELF64 little-endian x86-64 shared object (`ET_DYN`) whose
/// program header table and every segment's file range lie inside the file. The error is a
/// sentence naming what is wrong (without the path).
pub fn check_shared_object(path: &Path) -> Result<(), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let md = f.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    if !md.is_file() {
        return Err("not a regular file".into());
    }
    let size = md.len();
    let mut ehdr = [0u8; EHDR_SIZE];
    f.read_exact(&mut ehdr)
        .map_err(|_| format!("not an ELF shared object ({size} bytes, shorter than an ELF header)"))?;
    let phdrs = program_headers(&ehdr, size, |off, buf| {
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(off)).and_then(|_| f.read_exact(buf)).map_err(|e| format!("cannot read: {e}"))
    })?;
    check_segments(&phdrs, size)
}

/// Validate the ELF header and read the program header table through `read(offset, buf)`.
fn program_headers(
    ehdr: &[u8; EHDR_SIZE],
    size: u64,
    mut read: impl FnMut(u64, &mut [u8]) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    if ehdr[..4] != *b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if ehdr[4] != 2 || ehdr[5] != 1 || ehdr[6] != 1 {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let (e_type, e_machine) = (u16_at(ehdr, 16), u16_at(ehdr, 18));
    if e_machine != EM_X86_64 {
        return Err(format!("built for ELF machine {e_machine}, not x86-64"));
    }
    if e_type != ET_DYN {
        return Err(format!("ELF type {e_type} is not a shared object"));
    }
    let phoff = u64_at(ehdr, 32);
    let phentsize = u16_at(ehdr, 54) as usize;
    let phnum = u16_at(ehdr, 56) as usize;
    if phentsize != PHDR_SIZE || phnum == 0 || phnum > MAX_PHNUM {
        return Err(format!("malformed program header table ({phnum} entries of {phentsize} bytes)"));
    }
    let table = (phnum * PHDR_SIZE) as u64;
    if phoff.checked_add(table).is_none_or(|end| end > size) {
        return Err(format!("truncated: the program headers end past the file's {size} bytes"));
    }
    let mut buf = vec![0u8; phnum * PHDR_SIZE];
    read(phoff, &mut buf)?;
    Ok(buf)
}

/// Every segment's file range `[p_offset, p_offset + p_filesz)` must lie inside the file,
/// and at least one `PT_LOAD` segment must exist.
fn check_segments(phdrs: &[u8], size: u64) -> Result<(), String> {
    let mut loads = 0;
    for (i, ph) in phdrs.chunks_exact(PHDR_SIZE).enumerate() {
        let p_type = u32_at(ph, 0);
        let (offset, filesz) = (u64_at(ph, 8), u64_at(ph, 32));
        if p_type == PT_LOAD {
            loads += 1;
        }
        if filesz == 0 {
            continue;
        }
        match offset.checked_add(filesz) {
            Some(end) if end <= size => {}
            _ => {
                let what = if p_type == PT_LOAD { "loadable segment" } else { "segment" };
                return Err(format!(
                    "truncated: {what} {i} needs bytes up to {} but the file has {size}",
                    offset as u128 + filesz as u128
                ));
            }
        }
    }
    if loads == 0 {
        return Err("an ELF file with no loadable segment".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 x86-64 ET_DYN image with the given (type, offset, filesz) segments.
    fn image(segments: &[(u32, u64, u64)], size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size.max(EHDR_SIZE + segments.len() * PHDR_SIZE)];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        b[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        b[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
        b[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        b[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for (i, (t, off, sz)) in segments.iter().enumerate() {
            let p = EHDR_SIZE + i * PHDR_SIZE;
            b[p..p + 4].copy_from_slice(&t.to_le_bytes());
            b[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
            b[p + 32..p + 40].copy_from_slice(&sz.to_le_bytes());
        }
        b.truncate(size);
        b
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lib.so");
        std::fs::write(&p, bytes).unwrap();
        check_shared_object(&p)
    }

    #[test]
    fn accepts_a_well_formed_image() {
        check(&image(&[(PT_LOAD, 0, 4096), (2, 200, 16)], 4096)).unwrap();
    }

    #[test]
    fn accepts_system_libraries() {
        for p in ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"] {
            if Path::new(p).exists() {
                check_shared_object(Path::new(p)).unwrap();
            }
        }
    }

    #[test]
    fn rejects_malformed_files() {
        let bad = |bytes: Vec<u8>, want: &str| {
            let e = check(&bytes).unwrap_err();
            assert!(e.contains(want), "{e:?} should mention {want:?}");
        };
        bad(Vec::new(), "shorter than an ELF header");
        bad(b"#!/bin/sh\n".repeat(10), "not an ELF file");
        let mut b = image(&[(PT_LOAD, 0, 4096)], 4096);
        b[4] = 1;
        bad(b, "64-bit");
        let mut b = image(&[(PT_LOAD, 0, 4096)], 4096);
        b[18] = 183; // aarch64
        bad(b, "not x86-64");
        let mut b = image(&[(PT_LOAD, 0, 4096)], 4096);
        b[16] = 2; // ET_EXEC
        bad(b, "not a shared object");
        let mut b = image(&[(PT_LOAD, 0, 4096)], 4096);
        b[32..40].copy_from_slice(&4090u64.to_le_bytes());
        bad(b, "program headers end past");
        let mut b = image(&[(PT_LOAD, 0, 4096)], 4096);
        b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        bad(b, "program headers end past");
        bad(image(&[(PT_LOAD, 0, 8192)], 4096), "loadable segment 0 needs bytes up to 8192");
        bad(image(&[(PT_LOAD, 0, 100), (PT_LOAD, 4000, 97)], 4096), "segment 1");
        bad(image(&[(PT_LOAD, u64::MAX, 2)], 4096), "truncated");
        bad(image(&[(2, 0, 100)], 4096), "no loadable segment");
    }
}
