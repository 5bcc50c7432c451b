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

/// A 64-bit key for the pair (customer, value hash) within one kind of distinct count:
/// keeping one `u64` per pair (not a 16-byte tuple) halves the sets' memory and cache misses;
/// pairs collide with the probability noted at [`hash_bytes`].
#[inline]
pub fn pair_key(customer: u32, value: u64, kind: u64) -> u64 {
    fmix(value ^ (customer as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ kind.wrapping_mul(K))
}

/// A `Hasher` for keys that are already well mixed ([`pair_key`]): it passes them through.
#[derive(Default, Clone, Copy)]
pub struct MixedHasher(u64);

impl Hasher for MixedHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// A set of [`pair_key`]s.
pub type KeySet = HashSet<u64, BuildHasherDefault<MixedHasher>>;
/// A map from [`pair_key`]s.
pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<MixedHasher>>;

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

/// Ids up to this many bytes are stored inside the map's table (no pointer to chase).
const INLINE: usize = 23;

/// A short id stored inline: its length, then its bytes zero-padded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ShortId([u8; INLINE + 1]);

impl ShortId {
    #[inline]
    fn new(id: &[u8]) -> Option<ShortId> {
        (id.len() <= INLINE).then(|| {
            let mut k = [0u8; INLINE + 1];
            k[0] = id.len() as u8;
            k[1..=id.len()].copy_from_slice(id);
            ShortId(k)
        })
    }
}

/// Strings interned to dense indices, in order of first appearance; a known string is found
/// without allocating, and one no longer than 23 bytes without following a pointer.
#[derive(Default)]
pub struct Interner {
    short: FastMap<ShortId, u32>,
    long: FastMap<Box<[u8]>, u32>,
    ids: Vec<Box<[u8]>>,
}

impl Interner {
    /// The index of `id`, and whether it was new.
    #[inline]
    pub fn intern(&mut self, id: &[u8]) -> (u32, bool) {
        let next = self.ids.len() as u32;
        let (i, new) = match ShortId::new(id) {
            Some(k) => {
                let i = *self.short.entry(k).or_insert(next);
                (i, i == next)
            }
            None => match self.long.get(id) {
                Some(&i) => (i, false),
                None => {
                    self.long.insert(id.into(), next);
                    (next, true)
                }
            },
        };
        if new {
            self.ids.push(id.into());
        }
        (i, new)
    }

    /// The strings, indexed as interned.
    pub fn ids(&self) -> &[Box<[u8]>] {
        &self.ids
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Values a [`SmallDistinct`] keeps in its own list past the inline ones, before it moves
/// them all to the shared set: a short scan of one customer's list is cheaper than a probe
/// of the large shared table (a cache miss).
const SPILL: usize = 64;

/// Whether `v` holds `id`, comparing in blocks the compiler vectorises.
#[inline]
fn holds(v: &[u64], id: u64) -> bool {
    let mut blocks = v.chunks_exact(8);
    for b in &mut blocks {
        if b.iter().fold(false, |a, &x| a | (x == id)) {
            return true;
        }
    }
    blocks.remainder().contains(&id)
}

/// The distinct values of one kind (products, categories, brands) seen by one customer, by
/// their [`hash_bytes`]: kept inline while there are at most `N`, then up to [`SPILL`] more
/// in a list of the customer's own, then all in the shared [`KeySet`].
#[derive(Clone, Debug)]
pub struct SmallDistinct<const N: usize> {
    ids: [u64; N],
    /// Values past the inline ones (empty once they moved to the shared set).
    more: Vec<u64>,
    /// Values held inline; `u8::MAX` once they moved to the shared set.
    n: u8,
    /// Distinct values counted.
    pub count: u32,
}

impl<const N: usize> Default for SmallDistinct<N> {
    fn default() -> Self {
        SmallDistinct {
            ids: [0; N],
            more: Vec::new(),
            n: 0,
            count: 0,
        }
    }
}

impl<const N: usize> SmallDistinct<N> {
    /// Adds value `id` (a value's hash) of `kind` for `customer`; counts it if new.
    #[inline]
    pub fn insert(&mut self, id: u64, customer: u32, kind: u64, shared: &mut KeySet) {
        if self.n != u8::MAX {
            let n = self.n as usize;
            if self.ids[..n].contains(&id) {
                return;
            }
            if n < N {
                self.ids[n] = id;
                self.n += 1;
                self.count += 1;
                return;
            }
            if holds(&self.more, id) {
                return;
            }
            if self.more.len() < SPILL {
                self.more.push(id);
                self.count += 1;
                return;
            }
            for &v in self.ids.iter().chain(&self.more) {
                shared.insert(pair_key(customer, v, kind));
            }
            self.more = Vec::new();
            self.n = u8::MAX;
        }
        if shared.insert(pair_key(customer, id, kind)) {
            self.count += 1;
        }
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
        let long = [b'z'; 40];
        assert_eq!(i.intern(&long), (2, true));
        assert_eq!(i.intern(&long), (2, false));
        assert_eq!(i.ids()[2].len(), 40);
    }

    #[test]
    fn small_distinct_is_exact_across_the_spill() {
        let mut shared = KeySet::default();
        let (mut a, mut b) = (SmallDistinct::<3>::default(), SmallDistinct::<3>::default());
        for v in [1, 2, 1, 3, 2, 4, 1, 5, 4, 6] {
            a.insert(v, 0, 0, &mut shared);
            b.insert(v, 1, 0, &mut shared);
        }
        assert_eq!((a.count, b.count), (6, 6));
        // Past the customer's own list too, into the shared set.
        let mut c = SmallDistinct::<3>::default();
        let n = (3 + SPILL + 20) as u64;
        for round in 0..2 {
            for v in 0..n {
                c.insert(v * 7919 + round, 2, 0, &mut shared);
                c.insert(v * 7919, 2, 0, &mut shared);
            }
        }
        assert_eq!(c.count as u64, 2 * n);
    }
}
