//! A fast, deterministic hash for the per-customer maps and distinct-key sets: the default
//! SipHash is randomly seeded (output order would vary) and several times slower on the short
//! keys logs are made of.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// Murmur3's 64-bit finaliser: every input bit affects every output bit.
#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A 64-bit hash of a byte string, used as the identity of distinct products, sessions and
/// invoices (two keys collide with probability about n²/2⁶⁵: below 10⁻⁵ for 10⁷ keys).
#[inline]
pub fn hash_bytes(s: &[u8]) -> u64 {
    let mut h = K ^ (s.len() as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(31);
    }
    fmix(h)
}

/// `Hasher` over [`hash_bytes`] and [`fmix`]; deterministic across runs and platforms.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        fmix(self.0)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0 = (self.0 ^ hash_bytes(bytes)).wrapping_mul(K);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0 ^ i).wrapping_mul(K).rotate_left(29);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// Customer ids interned to dense indices, in order of first appearance; lookups of a known
/// id do not allocate.
#[derive(Default)]
pub struct Interner {
    map: FastMap<Box<[u8]>, u32>,
    ids: Vec<Box<[u8]>>,
}

impl Interner {
    /// The index of `id`, and whether it was new.
    #[inline]
    pub fn intern(&mut self, id: &[u8]) -> (u32, bool) {
        if let Some(&i) = self.map.get(id) {
            return (i, false);
        }
        let i = self.ids.len() as u32;
        self.map.insert(id.into(), i);
        self.ids.push(id.into());
        (i, true)
    }

    /// The ids, indexed as interned.
    pub fn ids(&self) -> &[Box<[u8]>] {
        &self.ids
    }

    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no id was interned.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_differ_and_are_stable() {
        assert_ne!(hash_bytes(b"abc"), hash_bytes(b"abd"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"12345678"), hash_bytes(b"12345678\0"));
        assert_eq!(hash_bytes(b"user_session"), hash_bytes(b"user_session"));
        let mut i = Interner::default();
        assert_eq!(i.intern(b"x"), (0, true));
        assert_eq!(i.intern(b"y"), (1, true));
        assert_eq!(i.intern(b"x"), (0, false));
        assert_eq!(i.len(), 2);
    }
}
