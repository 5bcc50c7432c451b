//! A lost GPU device (a driver reset) fails the calls that were using it with a clear error,
//! and the next backend gets a new device that works. Its own test binary: it destroys the
//! process-wide device, which would disturb GPU tests running beside it.

use segmenter::backend::gpu::context;
use segmenter::backend::{Assign, Backend, GpuBackend};
use segmenter::synth::{blobs_matrix, BlobsSpec};
use std::sync::Arc;

#[test]
fn a_lost_device_is_replaced_on_the_next_call() {
    let before = match context() {
        Ok(c) => c,
        Err(e) => {
            assert_ne!(
                std::env::var("SEGMENTER_REQUIRE_GPU").as_deref(),
                Ok("1"),
                "SEGMENTER_REQUIRE_GPU=1 but {e}"
            );
            return eprintln!("skipping GPU test: {e}");
        }
    };
    let (x, _) = blobs_matrix(&BlobsSpec {
        rows: 3_000,
        dims: 4,
        centers: 3,
        std: 1.0,
        seed: 1,
    })
    .expect("valid blob spec");
    let c: Vec<f32> = x.rows().into_iter().take(3).flatten().copied().collect();
    let g = GpuBackend::new().expect("a backend");
    let p = g.upload(x.view()).expect("upload");
    let mut r = g.start(&p, 3, Assign::Lloyd).expect("start");
    let want = g.step(&p, &mut r, &c).expect("step");

    before.lose_device();
    assert!(before.is_lost());
    let e = g.step(&p, &mut r, &c).expect_err("the lost device fails");
    assert!(e.to_string().contains("the GPU device was lost"), "{e}");

    let after = context().expect("a new context");
    assert!(
        !Arc::ptr_eq(&before, &after),
        "a new device, not the lost one"
    );
    assert!(!after.is_lost());
    let g = GpuBackend::new().expect("a backend on the new device");
    let p = g.upload(x.view()).expect("upload again");
    let mut r = g.start(&p, 3, Assign::Lloyd).expect("start again");
    assert_eq!(
        g.step(&p, &mut r, &c).expect("step on the new device"),
        want
    );
}
