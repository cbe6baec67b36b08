//! The convolution every model here is built from: burn's `Conv2d` arithmetic and parameter
//! names (`weight` `[out, in, kh, kw]`, `bias` `[out]`), so packs and checkpoints load
//! unchanged, plus one thing burn 0.22.1 cannot do: on wgpu, run from int8 weights kept on the
//! device (`sigil-kernels`), instead of f32 ones four times the size.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

/// The wgpu int8 convolution (a placeholder type in builds without wgpu; never constructed).
#[cfg(feature = "wgpu")]
pub type Int8Conv = sigil_kernels::wgpu::I8Conv2d;
/// The wgpu int8 convolution (a placeholder type in builds without wgpu; never constructed).
#[cfg(not(feature = "wgpu"))]
#[derive(Debug, Clone)]
pub struct Int8Conv(());

/// A 2-D convolution: one group, no dilation, square stride and zero padding.
#[derive(Module, Debug)]
pub struct Conv {
    /// `[out, in, kh, kw]` (a one-value placeholder once [`Conv::run_int8`] took the weights).
    pub weight: Param<Tensor<4>>,
    /// `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// `[in, out]` channels.
    pub channels: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Step in both directions.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// The int8 weights on a wgpu device, when this convolution runs from them.
    #[module(skip)]
    pub int8: Option<Int8Conv>,
}

fn conv(i: usize, o: usize, k: usize, stride: usize, padding: usize, device: &Device) -> Conv {
    // burn's initialisation (and order of random draws), so seeded training is unchanged.
    let c = Conv2dConfig::new([i, o], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .init(device);
    Conv {
        weight: c.weight,
        bias: c.bias,
        channels: [i, o],
        kernel: [k, k],
        stride,
        padding,
        int8: None,
    }
}

/// A 3×3 convolution from `i` to `o` channels with padding 1 and the given stride.
pub(crate) fn conv3(i: usize, o: usize, stride: usize, device: &Device) -> Conv {
    conv(i, o, 3, stride, 1, device)
}

/// A 1×1 convolution from `i` to `o` channels.
pub(crate) fn conv1(i: usize, o: usize, device: &Device) -> Conv {
    conv(i, o, 1, 1, 0, device)
}

impl Conv {
    /// `[b, in, h, w]` → `[b, out, h', w']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        #[cfg(feature = "wgpu")]
        if let Some(k) = &self.int8 {
            return match k.forward(x) {
                Ok(y) => y,
                // `run_int8` put the weights on this model's wgpu device and the models feed
                // every convolution f32 activations of that device: an error here is a bug in
                // this crate, like a shape mismatch inside burn's own conv2d.
                #[allow(clippy::panic)]
                Err(e) => panic!("int8 convolution: {e}"),
            };
        }
        let options = ConvOptions::new(
            [self.stride, self.stride],
            [self.padding, self.padding],
            [1, 1],
            1,
        );
        conv2d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(Param::val),
            options,
        )
    }

    /// Number of weights, `out × in × kh × kw` (also once the weights are int8).
    pub fn weights(&self) -> usize {
        self.channels[0] * self.channels[1] * self.kernel[0] * self.kernel[1]
    }

    /// Run from int8 `values` `[out, in, kh, kw]` with one scale per output channel, kept on
    /// this convolution's wgpu device; the f32 weights are released. An error (a device that
    /// is not wgpu, values that do not fit) leaves the convolution as it was.
    #[cfg(feature = "wgpu")]
    pub fn run_int8(&mut self, values: &[i8], scales: &[f32]) -> Result<(), crate::ModelError> {
        let device = self.weight.device();
        let bias = match &self.bias {
            Some(b) => Some(crate::minilm::tensor_to_vec(b.val())?),
            None => None,
        };
        let spec = sigil_kernels::Conv2dSpec {
            in_channels: self.channels[0],
            out_channels: self.channels[1],
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
        };
        let k = Int8Conv::new(&device, spec, values, scales, bias.as_deref())
            .map_err(|e| crate::ModelError::Input(format!("int8 convolution: {e}")))?;
        self.weight = Param::from_tensor(Tensor::<4>::zeros([1, 1, 1, 1], &device));
        self.int8 = Some(k);
        Ok(())
    }
}
