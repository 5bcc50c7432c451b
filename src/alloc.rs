//! A global allocator that keeps freed large blocks mapped and hands them to the next large
//! allocation, so that a run's stages reuse each other's memory instead of faulting in fresh
//! pages.
//!
//! Why: glibc maps blocks above its mmap threshold (at most 32 MiB) and unmaps them when they
//! are freed, so the next stage's block of the same size is faulted in and zeroed page by
//! page. A 10M-row run faulted in about 980k pages (3.9 GB, the file's included) that way,
//! against 1.6 GB resident at its peak; on a VM whose host takes freed memory back, touching a
//! fresh page measured 3–15 times dearer than a reused one. Reuse takes every cached block
//! before mapping a new one, so the resident set stays at the live high-water mark.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Blocks at least this large are mapped by this allocator and cached when freed.
pub const LARGE: usize = 4 << 20;
const PAGE: usize = 4096;
/// At most this many freed blocks are kept; beyond it the oldest is unmapped.
const SLOTS: usize = 64;

/// The allocator: [`System`] below [`LARGE`] bytes, cached anonymous maps at and above.
pub struct ReuseLarge;

struct Cache {
    /// (address, length in bytes, a multiple of the page size), oldest first.
    blocks: [(usize, usize); SLOTS],
    n: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    blocks: [(0, 0); SLOTS],
    n: 0,
});

fn large(size: usize, align: usize) -> bool {
    size >= LARGE && align <= PAGE
}

fn pages(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

fn cache() -> std::sync::MutexGuard<'static, Cache> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cache {
    fn remove(&mut self, i: usize) -> (usize, usize) {
        let b = self.blocks[i];
        self.blocks.copy_within(i + 1..self.n, i);
        self.n -= 1;
        b
    }

    /// Keeps a block; when full, returns the oldest one for unmapping.
    fn push(&mut self, b: (usize, usize)) -> Option<(usize, usize)> {
        let evicted = (self.n == SLOTS).then(|| self.remove(0));
        self.blocks[self.n] = b;
        self.n += 1;
        evicted
    }

    /// The smallest cached block that holds `len` bytes.
    fn take_fit(&mut self, len: usize) -> Option<(usize, usize)> {
        let live = &self.blocks[..self.n];
        let i = (0..live.len())
            .filter(|&i| live[i].1 >= len)
            .min_by_key(|&i| live[i].1)?;
        Some(self.remove(i))
    }

    /// The largest cached block.
    fn take_largest(&mut self) -> Option<(usize, usize)> {
        let live = &self.blocks[..self.n];
        let i = (0..live.len()).max_by_key(|&i| live[i].1)?;
        Some(self.remove(i))
    }
}

unsafe fn map(len: usize) -> *mut u8 {
    let p = libc::mmap(
        std::ptr::null_mut(),
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

unsafe fn unmap(addr: usize, len: usize) {
    libc::munmap(addr as *mut libc::c_void, len);
}

unsafe fn remap(addr: usize, old: usize, new: usize) -> *mut u8 {
    let p = libc::mremap(addr as *mut libc::c_void, old, new, libc::MREMAP_MAYMOVE);
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

/// Moves the pages of `len` bytes at `from` to `to`, replacing what was mapped there: the
/// kernel moves page-table entries, not bytes.
unsafe fn move_pages(from: usize, len: usize, to: usize) -> bool {
    let p = libc::mremap(
        from as *mut libc::c_void,
        len,
        len,
        libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
        to as *mut libc::c_void,
    );
    p != libc::MAP_FAILED
}

/// Keeps `b` cached, unmapping what the cache has no room for.
unsafe fn keep(b: (usize, usize)) {
    let evicted = cache().push(b);
    if let Some((a, l)) = evicted {
        unmap(a, l);
    }
}

impl ReuseLarge {
    /// A block of `len` bytes (page multiple) and whether its pages may hold old data.
    ///
    /// The smallest cached block that holds `len` serves it, its rest staying cached (a range
    /// of a map unmaps and moves like a map of its own). Otherwise the cached blocks, largest
    /// first, are moved into one new map until it is full: memory the cache holds is reused
    /// before any fresh page is faulted in, so the resident set stays at its high-water mark.
    unsafe fn block(&self, len: usize) -> (*mut u8, bool) {
        let fit = cache().take_fit(len);
        if let Some((addr, have)) = fit {
            if have > len {
                let rest = (addr + len, have - len);
                if rest.1 >= LARGE {
                    keep(rest);
                } else {
                    unmap(rest.0, rest.1);
                }
            }
            return (addr as *mut u8, true);
        }
        let p = map(len);
        if p.is_null() {
            return (p, false);
        }
        let base = p as usize;
        let mut filled = 0;
        while filled < len {
            let largest = cache().take_largest();
            let Some((addr, have)) = largest else {
                break;
            };
            let part = have.min(len - filled);
            if !move_pages(addr, part, base + filled) {
                keep((addr, have));
                break;
            }
            if have > part {
                keep((addr + part, have - part));
            }
            filled += part;
        }
        (p, filled > 0)
    }
}

/// Unmaps every cached block: for a point after which large blocks are no longer allocated
/// (the output stage), where cached memory would only add to what the small allocations and
/// the page cache hold. Nothing when [`ReuseLarge`] is not the global allocator.
pub fn release_cached() {
    loop {
        let b = cache().take_largest();
        let Some((addr, len)) = b else {
            return;
        };
        // SAFETY: a cached block is mapped and referenced by nothing but the cache.
        unsafe { unmap(addr, len) };
    }
}

unsafe impl GlobalAlloc for ReuseLarge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !large(layout.size(), layout.align()) {
            return System.alloc(layout);
        }
        self.block(pages(layout.size())).0
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !large(layout.size(), layout.align()) {
            return System.alloc_zeroed(layout);
        }
        let (p, reused) = self.block(pages(layout.size()));
        if reused && !p.is_null() {
            // Writing zeros over resident pages costs far less than faulting in fresh ones.
            std::ptr::write_bytes(p, 0, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !large(layout.size(), layout.align()) {
            return System.dealloc(ptr, layout);
        }
        keep((ptr as usize, pages(layout.size())));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        match (large(layout.size(), align), large(new_size, align)) {
            (false, false) => System.realloc(ptr, layout, new_size),
            (true, true) => remap(ptr as usize, pages(layout.size()), pages(new_size)),
            _ => {
                let new = Layout::from_size_align_unchecked(new_size, align);
                let p = self.alloc(new);
                if !p.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the cache is process-wide, and parallel tests would take each other's blocks.
    #[test]
    fn large_blocks_are_reused_zeroed_grown_and_kept_apart_from_small_ones() {
        let a = ReuseLarge;
        unsafe {
            let big = Layout::from_size_align(LARGE + 100, 64).unwrap();
            let p = a.alloc(big);
            assert!(!p.is_null());
            std::ptr::write_bytes(p, 7, big.size());
            a.dealloc(p, big);
            // The same size gets the same block back, old bytes and all, or zeros if asked.
            let q = a.alloc(big);
            assert_eq!(q, p);
            assert_eq!(*q.add(big.size() - 1), 7);
            a.dealloc(q, big);
            let z = a.alloc_zeroed(big);
            assert_eq!(z, p);
            assert!(std::slice::from_raw_parts(z, big.size())
                .iter()
                .all(|&b| b == 0));
            // Growing keeps the contents; shrinking below LARGE moves to the system allocator.
            *z = 42;
            *z.add(big.size() - 1) = 43;
            let g = a.realloc(z, big, 3 * LARGE);
            assert!(!g.is_null());
            assert_eq!((*g, *g.add(big.size() - 1)), (42, 43));
            let grown = Layout::from_size_align(3 * LARGE, 64).unwrap();
            let s = a.realloc(g, grown, 1000);
            assert_eq!(*s, 42);
            a.dealloc(s, Layout::from_size_align(1000, 64).unwrap());
            // A smaller request takes the front of a cached block; the rest stays usable.
            let half = Layout::from_size_align(2 * LARGE, 64).unwrap();
            let h1 = a.alloc(half);
            let h2 = a.alloc(half);
            assert!(!h1.is_null() && !h2.is_null());
            std::ptr::write_bytes(h1, 1, half.size());
            std::ptr::write_bytes(h2, 2, half.size());
            assert_eq!(*h1.add(half.size() - 1), 1);
            a.dealloc(h1, half);
            a.dealloc(h2, half);
            // Alignment above a page is the system's.
            let odd = Layout::from_size_align(LARGE, 2 * PAGE).unwrap();
            let o = a.alloc(odd);
            assert_eq!(o as usize % (2 * PAGE), 0);
            a.dealloc(o, odd);
        }
    }

    #[test]
    fn the_cache_evicts_its_oldest_block_when_full() {
        let mut c = Cache {
            blocks: [(0, 0); SLOTS],
            n: 0,
        };
        for i in 0..SLOTS {
            assert_eq!(c.push((i, (i + 1) * PAGE)), None);
        }
        assert_eq!(c.push((999, PAGE)), Some((0, PAGE)));
        // Best fit: the smallest that holds the request; else none, and the largest first.
        assert_eq!(c.take_fit(3 * PAGE), Some((2, 3 * PAGE)));
        assert_eq!(c.take_fit(10_000 * PAGE), None);
        assert_eq!(c.take_largest(), Some((SLOTS - 1, SLOTS * PAGE)));
    }
}
