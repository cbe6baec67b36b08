//! Shared by the kernel tests: deterministic cases, the shapes to cover, error measure, burn's
//! f32 conv of the dequantised weights, the twin, and the wgpu device.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use sigil_kernels::Conv2dSpec;
use sigil_kernels::reference;

/// A case: input values, int8 weights, scales and bias, from a small deterministic generator.
pub struct Case {
    pub spec: Conv2dSpec,
    pub dims: [usize; 4],
    pub input: Vec<f32>,
    pub weights: Vec<i8>,
    pub scales: Vec<f32>,
    pub bias: Vec<f32>,
}

fn lcg(state: &mut u64) -> f32 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    #[allow(clippy::cast_precision_loss)]
    let v = (*state >> 40) as f32 / (1u64 << 24) as f32;
    v * 2.0 - 1.0
}

pub fn case(spec: Conv2dSpec, n: usize, h: usize, w: usize, seed: u64) -> Case {
    let mut s = seed;
    let dims = [n, spec.in_channels, h, w];
    let input = (0..n * spec.in_channels * h * w)
        .map(|_| lcg(&mut s))
        .collect();
    #[allow(clippy::cast_possible_truncation)]
    let weights = (0..spec.weights())
        .map(|_| (lcg(&mut s) * 127.0).round() as i8)
        .collect();
    let scales = (0..spec.out_channels)
        .map(|_| 0.001 + 0.01 * lcg(&mut s).abs())
        .collect();
    let bias = (0..spec.out_channels).map(|_| lcg(&mut s) * 0.1).collect();
    Case {
        spec,
        dims,
        input,
        weights,
        scales,
        bias,
    }
}

/// The shapes the generator uses (3×3 stride 1 and 2, 1×1 skips) and awkward ones (channel
/// counts that are not multiples of 4, odd sides, padding 0 and 2, a non-square window).
pub fn specs() -> Vec<(Conv2dSpec, usize, usize, usize)> {
    let s = |i, o, k: [usize; 2], stride, padding| Conv2dSpec {
        in_channels: i,
        out_channels: o,
        kernel: k,
        stride,
        padding,
    };
    vec![
        (s(4, 8, [3, 3], 1, 1), 2, 16, 16),
        (s(16, 32, [3, 3], 2, 1), 1, 16, 16),
        (s(24, 8, [1, 1], 1, 0), 1, 8, 8),
        (s(3, 5, [3, 3], 1, 0), 2, 7, 9),
        (s(5, 3, [3, 5], 2, 2), 1, 11, 6),
    ]
}

/// `max |a − b| / max |b|`.
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// The case's weights as f32: `q · scale[out channel]`.
pub fn dequantised(c: &Case) -> Vec<f32> {
    let [kh, kw] = c.spec.kernel;
    c.weights
        .iter()
        .enumerate()
        .map(|(i, &q)| f32::from(q) * c.scales[i / (c.spec.in_channels * kh * kw)])
        .collect()
}

/// burn's f32 conv2d of the dequantised weights on `d`: what the int8 convolution means.
pub fn burn_f32(c: &Case, d: &Device) -> Vec<f32> {
    let [kh, kw] = c.spec.kernel;
    let deq = dequantised(c);
    let x = Tensor::<4>::from_data(TensorData::new(c.input.clone(), c.dims), d);
    let w = Tensor::<4>::from_data(
        TensorData::new(deq, [c.spec.out_channels, c.spec.in_channels, kh, kw]),
        d,
    );
    let b = Tensor::<1>::from_data(TensorData::new(c.bias.clone(), [c.spec.out_channels]), d);
    let opts = ConvOptions::new([c.spec.stride; 2], [c.spec.padding; 2], [1, 1], 1);
    conv2d(x, w, Some(b), opts)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

pub fn twin(c: &Case) -> Vec<f32> {
    reference::conv2d_i8(
        &c.input,
        c.dims,
        &c.spec,
        &c.weights,
        &c.scales,
        Some(&c.bias),
    )
    .unwrap()
}

/// The wgpu device, or `None` when `SIGIL_SKIP_WGPU=1` and there is none.
#[cfg(feature = "wgpu")]
pub fn wgpu_device() -> Option<Device> {
    // burn registers the wgpu runtime once per process; tests run in parallel threads.
    static DEVICE: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
    let got = DEVICE.get_or_init(|| {
        let (d, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|e| e.to_string())?;
        eprintln!("adapter: {}", setup.adapter.get_info().name);
        Ok(d)
    });
    match got.clone() {
        Ok(d) => Some(d),
        Err(e) if std::env::var("SIGIL_SKIP_WGPU").is_ok_and(|v| v == "1") => {
            eprintln!("wgpu half skipped (SIGIL_SKIP_WGPU=1): {e}");
            None
        }
        Err(e) => panic!(
            "no wgpu adapter ({e}): install mesa-vulkan-drivers (lavapipe; .ci/run does), \
             or set SIGIL_SKIP_WGPU=1 to skip the wgpu tests"
        ),
    }
}

/// The int8 kernel on `d`.
#[cfg(feature = "wgpu")]
pub fn kernel(c: &Case, d: &Device) -> Vec<f32> {
    let conv = sigil_kernels::wgpu::I8Conv2d::new(d, c.spec, &c.weights, &c.scales, Some(&c.bias))
        .unwrap();
    let x = Tensor::<4>::from_data(TensorData::new(c.input.clone(), c.dims), d);
    conv.forward(x)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}
