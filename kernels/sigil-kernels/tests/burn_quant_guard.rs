//! The guard, in a process of its own (burn may panic on this path): burn 0.22.1's own quantised
//! 3×3 conv on wgpu against the f32 conv, beside the int8 kernel.
#![cfg(feature = "wgpu")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::quantization::{QuantScheme, QuantStore, QuantValue};
use burn::tensor::{Tensor, TensorData};

mod common;
use common::*;

/// The guard. burn 0.22.1's own quantised 3×3 conv on wgpu (Q8S, `PackedU32(2)`, the one
/// storage it accepts for such weights) runs and returns numbers far from the f32 conv;
/// int8 quantisation itself costs ~1 %. Sigil therefore never hands burn a quantised conv
/// weight (packs are dequantised at load, or run through `I8Conv2d`). This test fails when
/// the silent case changes: if burn starts agreeing, re-evaluate its path; if burn's
/// error grows past the tolerance below on our kernel, the kernel is broken.
#[test]
fn burns_quantised_wgpu_conv_is_caught_and_ours_is_not() {
    let Some(d) = wgpu_device() else { return };
    let c = case(specs()[1].0, 1, 16, 16, 77);
    let want = burn_f32(&c, &d);
    let ours = rel_err(&kernel(&c, &d), &want);
    let [kh, kw] = c.spec.kernel;
    let deq = dequantised(&c);
    let scheme = QuantScheme::default()
        .with_value(QuantValue::Q8S)
        .with_store(QuantStore::PackedU32(2));
    let burns = std::panic::catch_unwind(|| {
        let w = Tensor::<4>::from_data(
            TensorData::new(deq, [c.spec.out_channels, c.spec.in_channels, kh, kw]),
            &d,
        )
        .quantize_dynamic(&scheme);
        let x = Tensor::<4>::from_data(TensorData::new(c.input.clone(), c.dims), &d);
        let b = Tensor::<1>::from_data(TensorData::new(c.bias.clone(), [c.spec.out_channels]), &d);
        let opts = ConvOptions::new([c.spec.stride; 2], [c.spec.padding; 2], [1, 1], 1);
        conv2d(x, w, Some(b), opts).into_data().try_to_vec::<f32>()
    });
    let burns = match burns {
        Ok(Ok(v)) => Some(rel_err(&v, &want)),
        _ => None, // refused: loud, not silent
    };
    eprintln!("relative error against the f32 conv: ours {ours:.2e}, burn's quantised {burns:?}");
    assert!(
        ours < 1e-5,
        "the int8 kernel differs from the f32 conv by {ours}"
    );
    match burns {
        Some(e) => assert!(
            e > 0.05,
            "burn's quantised wgpu conv now agrees with the f32 conv (error {e:.2e}): the silent \
             case this guards against is gone; consider burn's path and update this test"
        ),
        None => eprintln!("burn refused the quantised conv (loud, not silent)"),
    }
}
