//! Big bodies in one sealed memory file, so they can go out with `sendfile` instead of being
//! copied through the process for every response (what nginx gets from `sendfile on`).
//!
//! The arena is a `memfd` holding every body of at least [`THRESHOLD`] bytes back to back,
//! sealed against change and mapped read-only. Entries keep `Bytes` slices of that mapping,
//! so the rest of the server reads them as before; [`crate::sendfile`] recognises a slice of
//! the arena by its address and sends it from the file at the same offset.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use rustix::fs::{MemfdFlags, SealFlags};

/// Smaller bodies are cheaper to copy than to send with a second system call.
pub const THRESHOLD: usize = 64 * 1024;

/// The sealed memory file and its read-only mapping. Whoever can see a slice of the mapping
/// holds this alive (through `Bytes` or an `Arc`), so the address range is never reused by
/// another allocation while an offset computed from it is in use.
#[derive(Debug)]
pub struct Arena {
    map: memmap2::Mmap,
    file: File,
}

impl Arena {
    /// Moves every body of at least [`THRESHOLD`] bytes into a new arena and points the
    /// `Bytes` at it. Returns `None` (leaving the bodies where they are) when there is
    /// nothing big enough or the system refuses a memory file: serving works the same, with
    /// copies.
    pub fn pack(bodies: &mut [&mut Bytes]) -> Option<Arc<Arena>> {
        let total: usize = bodies
            .iter()
            .filter(|b| b.len() >= THRESHOLD)
            .map(|b| b.len())
            .sum();
        if total == 0 {
            return None;
        }
        let big = bodies.iter().filter(|b| b.len() >= THRESHOLD);
        let arena = Arc::new(Arena::write(big.map(|b| &b[..]), total)?);
        let whole = Bytes::from_owner(View(arena.clone()));
        let mut at = 0;
        for body in bodies.iter_mut().filter(|b| b.len() >= THRESHOLD) {
            let len = body.len();
            **body = whole.slice(at..at + len);
            at += len;
        }
        Some(arena)
    }

    fn write<'a>(bodies: impl Iterator<Item = &'a [u8]>, total: usize) -> Option<Arena> {
        let fd = rustix::fs::memfd_create(
            "galley-site",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )
        .ok()?;
        let mut file = File::from(fd);
        file.set_len(total as u64).ok()?;
        for body in bodies {
            file.write_all(body).ok()?;
        }
        rustix::fs::fcntl_add_seals(
            &file,
            SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
        )
        .ok()?;
        // SAFETY: the file is sealed against writes, shrinking and growing (and against
        // removing those seals), so the mapped bytes can never change or vanish under us.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        Some(Arena { map, file })
    }

    /// Where `slice` starts in the arena's file, if it lies wholly inside the arena.
    pub fn offset_of(&self, slice: &[u8]) -> Option<u64> {
        let start = self.map.as_ptr() as usize;
        let at = slice.as_ptr() as usize;
        (!slice.is_empty() && at >= start && at + slice.len() <= start + self.map.len())
            .then(|| (at - start) as u64)
    }

    /// The memory file, for `sendfile`.
    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The arena as the owner of `Bytes`.
struct View(Arc<Arena>);

impl AsRef<[u8]> for View {
    fn as_ref(&self) -> &[u8] {
        &self.0.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn big_bodies_move_in_and_read_the_same_from_memory_and_file() {
        let big_a = Bytes::from(vec![b'a'; THRESHOLD]);
        let big_b = Bytes::from((0..THRESHOLD * 2).map(|i| i as u8).collect::<Vec<u8>>());
        let small = Bytes::from_static(b"small");
        let (mut a, mut b, mut s) = (big_a.clone(), big_b.clone(), small.clone());
        let arena = Arena::pack(&mut [&mut a, &mut s, &mut b]).expect("memfd");
        assert_eq!(arena.len(), THRESHOLD * 3);
        assert_eq!(
            (a.clone(), b.clone(), s.clone()),
            (big_a, big_b.clone(), small)
        );
        assert_eq!(arena.offset_of(&a), Some(0));
        assert_eq!(arena.offset_of(&b), Some(THRESHOLD as u64));
        assert_eq!(arena.offset_of(&b[10..20]), Some(THRESHOLD as u64 + 10));
        assert_eq!(arena.offset_of(&s), None, "small bodies stay on the heap");
        assert_eq!(arena.offset_of(&big_b), None, "a copy is not the arena");
        let mut read = vec![0; 100];
        arena
            .file()
            .read_exact_at(&mut read, THRESHOLD as u64 + 7)
            .expect("read");
        assert_eq!(read, &b[7..107]);
        assert!(
            arena.file().write_at(b"x", 0).is_err(),
            "sealed against writes"
        );
    }

    #[test]
    fn nothing_big_makes_no_arena() {
        let mut s = Bytes::from_static(b"small");
        assert!(Arena::pack(&mut [&mut s]).is_none());
    }
}
