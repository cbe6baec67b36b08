//! The int8 convolution against its reference twin, and the twin against burn's f32 conv2d on
//! the dequantised weights; on wgpu (lavapipe in CI) the kernel itself. The guard against
//! burn's own quantised wgpu conv is `burn_quant_guard.rs`.
//!
//! With the `wgpu` feature the wgpu half needs an adapter: with none it fails and says how to
//! get one, unless `SIGIL_SKIP_WGPU=1` says the machine has none on purpose.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use burn::tensor::{Device, Tensor, TensorData};
use proptest::prelude::*;
use sigil_kernels::reference;
use sigil_kernels::{Conv2dSpec, KernelError};

mod common;
use common::*;

#[test]
fn the_twin_is_burns_f32_conv_of_the_dequantised_weights() {
    for (i, (spec, n, h, w)) in specs().into_iter().enumerate() {
        let c = case(spec, n, h, w, i as u64 + 1);
        let e = rel_err(&twin(&c), &burn_f32(&c, &Device::flex()));
        assert!(e < 1e-5, "{spec:?}: twin differs from burn's conv2d by {e}");
    }
}

#[test]
fn the_twin_refuses_what_does_not_fit() {
    let c = case(specs()[0].0, 1, 8, 8, 9);
    let err = reference::conv2d_i8(&c.input, [1, 3, 8, 8], &c.spec, &c.weights, &c.scales, None)
        .unwrap_err();
    assert!(err.to_string().contains("4 input channels"), "{err}");
    let err = reference::conv2d_i8(&c.input, c.dims, &c.spec, &c.weights[1..], &c.scales, None)
        .unwrap_err();
    assert!(matches!(err, KernelError::Shape(_)), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any small shape: the twin agrees with burn's f32 conv on flex.
    #[test]
    fn twin_agrees_with_burn_on_any_small_shape(
        i in 1usize..6, o in 1usize..6, kh in 1usize..4, kw in 1usize..4,
        stride in 1usize..3, padding in 0usize..3, h in 3usize..10, w in 3usize..10, seed in 0u64..1000,
    ) {
        let spec = Conv2dSpec { in_channels: i, out_channels: o, kernel: [kh, kw], stride, padding };
        let c = case(spec, 1, h, w, seed);
        let e = rel_err(&twin(&c), &burn_f32(&c, &Device::flex()));
        prop_assert!(e < 1e-5, "{:?}: {}", spec, e);
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;
    use sigil_kernels::wgpu::I8Conv2d;

    #[test]
    fn the_kernel_matches_its_twin_and_burns_f32_conv() {
        let Some(d) = wgpu_device() else { return };
        for (i, (spec, n, h, w)) in specs().into_iter().enumerate() {
            let c = case(spec, n, h, w, 100 + i as u64);
            let got = kernel(&c, &d);
            let e = rel_err(&got, &twin(&c));
            assert!(e < 1e-5, "{spec:?}: kernel differs from its twin by {e}");
            let e = rel_err(&got, &burn_f32(&c, &d));
            assert!(
                e < 1e-5,
                "{spec:?}: kernel differs from burn's f32 conv on wgpu by {e}"
            );
        }
    }

    #[test]
    fn the_kernel_takes_a_strided_view_and_refuses_what_does_not_fit() {
        let Some(d) = wgpu_device() else { return };
        let c = case(specs()[0].0, 2, 16, 16, 7);
        let conv = I8Conv2d::new(&d, c.spec, &c.weights, &c.scales, Some(&c.bias)).unwrap();
        // The same values as a transposed (non-contiguous) view give the same result.
        let x = Tensor::<4>::from_data(TensorData::new(c.input.clone(), c.dims), &d);
        let [n, ch, h, w] = c.dims;
        let mut t = vec![0f32; c.input.len()];
        for p in 0..n * ch {
            for y in 0..h {
                for xx in 0..w {
                    t[(p * w + xx) * h + y] = c.input[(p * h + y) * w + xx];
                }
            }
        }
        let xt = Tensor::<4>::from_data(TensorData::new(t, [n, ch, w, h]), &d).swap_dims(2, 3);
        let a = conv
            .forward(x)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b = conv
            .forward(xt)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a, b);
        let wrong = Tensor::<4>::zeros([1, 3, 16, 16], &d);
        let err = conv.forward(wrong).unwrap_err().to_string();
        assert!(
            err.contains("3 channels") && err.contains("takes 4"),
            "{err}"
        );
        let err = I8Conv2d::new(&Device::flex(), c.spec, &c.weights, &c.scales, None).unwrap_err();
        assert!(matches!(err, KernelError::Device(_)), "{err}");
        let on_cpu = Tensor::<4>::zeros([1, 4, 16, 16], &Device::flex());
        assert!(matches!(conv.forward(on_cpu), Err(KernelError::Device(_))));
    }
}
