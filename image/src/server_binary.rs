//! Finds and checks the `galley-server` binary that goes into the image. A FROM-scratch image
//! has no libc and no loader, so a dynamically linked binary would fail at start with a
//! baffling "no such file"; we refuse it here instead.

use std::path::{Path, PathBuf};

use crate::error::{ImageError, Result};

/// ELF program header type of the dynamic loader path.
const PT_INTERP: u32 = 3;
const EM_X86_64: u16 = 0x3e;

/// The binary to use: `explicit` if given, else `galley-server` beside `program` (the
/// running `galley`, which the caller names: this library reads no process state).
pub fn locate(explicit: Option<&Path>, program: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        // Checked here, so a wrong --server-binary is named before any work is done.
        return match std::fs::metadata(p) {
            Ok(m) if m.is_file() => Ok(p.to_path_buf()),
            Ok(_) => Err(ImageError::ServerBinary {
                path: p.to_path_buf(),
                reason: "is not a file".into(),
            }),
            Err(e) => Err(ImageError::ServerBinary {
                path: p.to_path_buf(),
                reason: format!(
                    "cannot be read ({e}), given by --server-binary or GALLEY_SERVER_BINARY"
                ),
            }),
        };
    }
    let beside = program.and_then(|exe| exe.parent().map(|d| d.join("galley-server")));
    match beside {
        Some(p) if p.is_file() => Ok(p),
        _ => Err(ImageError::ServerBinary {
            path: PathBuf::from("galley-server"),
            reason: "not found beside the galley executable".into(),
        }),
    }
}

/// Reads the binary and checks it is a static x86_64 ELF executable.
pub fn read_static(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| ImageError::ServerBinary {
        path: path.to_path_buf(),
        reason: format!("cannot be read: {e}"),
    })?;
    check_static_x86_64(&bytes).map_err(|reason| ImageError::ServerBinary {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(bytes)
}

/// Parses just enough of the ELF header to tell static from dynamic.
pub fn check_static_x86_64(elf: &[u8]) -> std::result::Result<(), String> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    if elf.get(0..4) != Some(b"\x7fELF") || elf.get(4) != Some(&2) || elf.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    if u16_at(0x12) != Some(EM_X86_64) {
        return Err("not an x86_64 binary (the image is linux/amd64)".into());
    }
    let phoff = u64_at(0x20).ok_or("truncated ELF header")? as usize;
    let phentsize = u16_at(0x36).ok_or("truncated ELF header")? as usize;
    let phnum = u16_at(0x38).ok_or("truncated ELF header")? as usize;
    for i in 0..phnum {
        let kind = u32_at(phoff + i * phentsize).ok_or("truncated program headers")?;
        if kind == PT_INTERP {
            return Err(
                "dynamically linked (it needs a loader and libc, which a FROM-scratch image lacks)"
                    .into(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_binary_is_refused() {
        // The test binary itself is dynamically linked.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let err = check_static_x86_64(&me).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
    }

    #[test]
    fn a_script_is_refused() {
        assert!(check_static_x86_64(b"#!/bin/sh\necho hi\n").is_err());
    }
}
