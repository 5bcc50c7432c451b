//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod http;

use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `per` points around each of `centers` with standard deviation `std`, in blob order,
/// and the blob of every point.
pub fn blobs(centers: &[Vec<f32>], per: usize, std: f32, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let d = centers[0].len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(centers.len() * per * d);
    let mut truth = Vec::new();
    for (c, m) in centers.iter().enumerate() {
        for _ in 0..per {
            for &v in m {
                let z: f32 = StandardNormal.sample(&mut rng);
                x.push(v + std * z);
            }
            truth.push(c as u32);
        }
    }
    (
        Array2::from_shape_vec((centers.len() * per, d), x).unwrap(),
        truth,
    )
}

/// Shuffles rows (and their truth) with a seeded generator.
pub fn shuffle(x: &Array2<f32>, truth: &[u32], seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = x.nrows();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    (
        x.select(ndarray::Axis(0), &order),
        order.iter().map(|&i| truth[i]).collect(),
    )
}

/// Uniform random points in [-r, r]^d.
pub fn uniform(n: usize, d: usize, r: f32, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| rng.random_range(-r..r))
}

/// Whether two labelings are equal up to renaming the clusters.
pub fn same_partition(a: &[u32], b: &[u32]) -> bool {
    use std::collections::HashMap;
    let (mut ab, mut ba) = (HashMap::new(), HashMap::new());
    a.iter()
        .zip(b)
        .all(|(x, y)| *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x)
}
