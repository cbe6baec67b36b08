//! The int8 convolution on burn's wgpu backend: weights uploaded once as packed int8 with their
//! scales, and a launch per call on the input's device and stream.

mod kernel;

use burn::backend::wgpu::CubeTensor;
use burn::backend::{Cube, DispatchDevice};
use burn::cubecl::prelude::CubeElement;
use burn::cubecl::{self, CubeDim, calculate_cube_count_elemwise};
use burn::tensor::{DType, Device, Shape, Tensor};

use crate::{Conv2dSpec, KernelError, pack_i8};

/// A convolution whose int8 weights live on a wgpu device (a quarter of the memory of f32).
#[derive(Debug, Clone)]
pub struct I8Conv2d {
    spec: Conv2dSpec,
    weight: CubeTensor,
    scale: CubeTensor,
    bias: CubeTensor,
}

fn upload<E: CubeElement>(
    client: &cubecl::client::Client,
    device: &cubecl::Device,
    values: &[E],
    dtype: DType,
) -> CubeTensor {
    let handle = client.create_from_slice(E::as_bytes(values));
    CubeTensor::new_contiguous(
        client.clone(),
        device.clone(),
        Shape::new([values.len()]),
        handle,
        dtype,
    )
}

impl I8Conv2d {
    /// Upload int8 `weights` `[out, in, kh, kw]`, one scale per output channel and an optional
    /// bias to `device`, which must be a wgpu device.
    pub fn new(
        device: &Device,
        spec: Conv2dSpec,
        weights: &[i8],
        scales: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self, KernelError> {
        spec.check_weights(weights.len(), scales.len(), bias.map(<[f32]>::len))?;
        let DispatchDevice::Cube(d) = device.as_dispatch() else {
            return Err(KernelError::Device(format!(
                "the int8 convolution runs on wgpu devices, not {device:?}: use the reference \
                 twin or burn's f32 conv2d there"
            )));
        };
        let client = d.client();
        let zeros = vec![0f32; spec.out_channels];
        Ok(Self {
            spec,
            weight: upload(&client, d, &pack_i8(weights), DType::U32),
            scale: upload(&client, d, scales, DType::F32),
            bias: upload(&client, d, bias.unwrap_or(&zeros), DType::F32),
        })
    }

    /// The convolution's shape.
    pub fn spec(&self) -> &Conv2dSpec {
        &self.spec
    }

    /// Convolve `x` `[n, in, h, w]` (f32, on the weights' device): `[n, out, oh, ow]`.
    pub fn forward(&self, x: Tensor<4>) -> Result<Tensor<4>, KernelError> {
        let [n, c, h, w] = x.dims();
        if c != self.spec.in_channels {
            return Err(KernelError::Shape(format!(
                "input has {c} channels; this convolution takes {}",
                self.spec.in_channels
            )));
        }
        let [oh, ow] = self.spec.out_size(h, w)?;
        let x = x.try_into_primitive::<Cube>().map_err(|e| {
            KernelError::Device(format!(
                "the input is not a wgpu tensor ({e:?}): move it to the weights' device"
            ))
        })?;
        if x.dtype != DType::F32 {
            return Err(KernelError::Device(format!(
                "the input is {:?}; the int8 convolution takes f32",
                x.dtype
            )));
        }
        let numel = n * self.spec.out_channels * oh * ow;
        let client = x.client.clone();
        let out = CubeTensor::new_contiguous(
            client.clone(),
            x.device.clone(),
            Shape::new([n, self.spec.out_channels, oh, ow]),
            client.empty(numel * core::mem::size_of::<f32>()),
            DType::F32,
        );
        let cube_dim = CubeDim::new(&client, numel);
        let cube_count = calculate_cube_count_elemwise(&client, numel, cube_dim);
        let [kh, kw] = self.spec.kernel;
        kernel::conv2d_i8_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            x.into_tensor_arg(),
            self.weight.clone().into_buffer_arg(),
            self.scale.clone().into_buffer_arg(),
            self.bias.clone().into_buffer_arg(),
            out.clone().into_tensor_arg(),
            kh,
            kw,
            self.spec.stride,
            self.spec.padding,
        );
        Ok(Tensor::<4>::from_primitive::<Cube>(out))
    }

    /// Bytes the weights, scales and bias take on the device.
    pub fn device_bytes(&self) -> usize {
        self.spec.weights().div_ceil(4) * 4 + 2 * 4 * self.spec.out_channels
    }
}

/// Whether `device` is one this crate's kernels run on (burn's CubeCL backends: wgpu here).
pub fn is_wgpu(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Cube(_))
}
