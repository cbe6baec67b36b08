//! A TAESD-style autoencoder (only convolutions, ReLU, nearest upsampling and tanh) between
//! RGB images in [-1, 1] and small latents. With `down` stride-2 stages a 32×32 image becomes a
//! `latent × 32/2^down × 32/2^down` latent. Latents are normalised per channel with statistics
//! measured on the training set, so the denoiser sees roughly unit variance.

use crate::conv::Conv;
use burn::config::Config;
use burn::module::Module;

use crate::conv::conv3;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

/// Shape of the autoencoder.
#[derive(Config, Debug, PartialEq)]
pub struct AutoencoderConfig {
    /// Image channels.
    #[config(default = 3)]
    pub channels: usize,
    /// Latent channels.
    #[config(default = 4)]
    pub latent: usize,
    /// Width of the hidden convolutions.
    #[config(default = 64)]
    pub width: usize,
    /// Stride-2 stages (each halves the side).
    #[config(default = 1)]
    pub down: usize,
    /// Per-channel mean of the raw latents on the training set.
    #[config(default = "Vec::new()")]
    pub latent_mean: Vec<f32>,
    /// Per-channel standard deviation of the raw latents on the training set.
    #[config(default = "Vec::new()")]
    pub latent_std: Vec<f32>,
}

/// Conv → ReLU → conv → ReLU → conv, plus the input (TAESD's block), then ReLU.
#[derive(Module, Debug)]
pub struct Block {
    /// The three convolutions.
    pub conv: Vec<Conv>,
}

/// Image → latent.
#[derive(Module, Debug)]
pub struct AeEncoder {
    /// First convolution, image → width.
    pub stem: Conv,
    /// Stride-2 convolutions, one per stage.
    pub down: Vec<Conv>,
    /// A block after each stride-2 convolution.
    pub blocks: Vec<Block>,
    /// Width → latent.
    pub head: Conv,
}

/// Latent → image.
#[derive(Module, Debug)]
pub struct AeDecoder {
    /// Latent → width.
    pub stem: Conv,
    /// A block before each upsampling.
    pub blocks: Vec<Block>,
    /// The convolution after each nearest-neighbour ×2 upsampling.
    pub up: Vec<Conv>,
    /// A last block at full resolution.
    pub last: Block,
    /// Width → image, then tanh.
    pub head: Conv,
}

/// The autoencoder.
#[derive(Module, Debug)]
pub struct Autoencoder {
    /// Image → latent.
    pub encoder: AeEncoder,
    /// Latent → image.
    pub decoder: AeDecoder,
}

fn block(w: usize, device: &Device) -> Block {
    Block {
        conv: (0..3).map(|_| conv3(w, w, 1, device)).collect(),
    }
}

impl Block {
    fn convs_mut<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut Conv)>) {
        for (i, c) in self.conv.iter_mut().enumerate() {
            out.push((format!("{prefix}.conv.{i}"), c));
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        let n = self.conv.len();
        for (i, c) in self.conv.iter().enumerate() {
            h = c.forward(h);
            if i + 1 < n {
                h = relu(h);
            }
        }
        relu(h + x)
    }
}

/// Nearest-neighbour ×2 upsampling, `[b, c, h, w]` → `[b, c, 2h, 2w]`.
pub fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .reshape([b, c, h * 2, w * 2])
}

impl AutoencoderConfig {
    /// A fresh autoencoder.
    pub fn init(&self, device: &Device) -> Autoencoder {
        let w = self.width;
        Autoencoder {
            encoder: AeEncoder {
                stem: conv3(self.channels, w, 1, device),
                down: (0..self.down).map(|_| conv3(w, w, 2, device)).collect(),
                blocks: (0..self.down).map(|_| block(w, device)).collect(),
                head: conv3(w, self.latent, 1, device),
            },
            decoder: self.init_decoder(device),
        }
    }

    /// A fresh decoder alone (what a device runs).
    pub fn init_decoder(&self, device: &Device) -> AeDecoder {
        let w = self.width;
        AeDecoder {
            stem: conv3(self.latent, w, 1, device),
            blocks: (0..self.down).map(|_| block(w, device)).collect(),
            up: (0..self.down).map(|_| conv3(w, w, 1, device)).collect(),
            last: block(w, device),
            head: conv3(w, self.channels, 1, device),
        }
    }

    /// Side of the latent for an image of side `image`.
    pub fn latent_side(&self, image: usize) -> usize {
        image >> self.down
    }

    fn stats(&self, device: &Device) -> Option<(Tensor<4>, Tensor<4>)> {
        let n = self.latent;
        if self.latent_mean.len() != n || self.latent_std.len() != n {
            return None;
        }
        let mean = Tensor::from_data(
            TensorData::new(self.latent_mean.clone(), [1, n, 1, 1]),
            device,
        );
        let std = Tensor::from_data(
            TensorData::new(self.latent_std.clone(), [1, n, 1, 1]),
            device,
        );
        Some((mean, std))
    }

    /// Raw latents → normalised latents (identity until statistics are set).
    pub fn normalise(&self, z: Tensor<4>) -> Tensor<4> {
        match self.stats(&z.device()) {
            Some((mean, std)) => (z - mean) / std,
            None => z,
        }
    }

    /// Normalised latents → raw latents.
    pub fn denormalise(&self, z: Tensor<4>) -> Tensor<4> {
        match self.stats(&z.device()) {
            Some((mean, std)) => z * std + mean,
            None => z,
        }
    }
}

impl Autoencoder {
    /// `[b, 3, s, s]` in [-1, 1] → raw latents `[b, latent, s/2^down, s/2^down]`.
    pub fn encode(&self, x: Tensor<4>) -> Tensor<4> {
        let e = &self.encoder;
        let mut h = relu(e.stem.forward(x));
        for (down, block) in e.down.iter().zip(&e.blocks) {
            h = block.forward(relu(down.forward(h)));
        }
        e.head.forward(h)
    }

    /// Raw latents → images in [-1, 1].
    pub fn decode(&self, z: Tensor<4>) -> Tensor<4> {
        self.decoder.forward(z)
    }
}

impl AeDecoder {
    /// Every convolution with its module path (as in packs, without the `decoder.` prefix).
    pub fn convs_mut(&mut self) -> Vec<(String, &mut Conv)> {
        let mut out = vec![("stem".to_string(), &mut self.stem)];
        for (i, b) in self.blocks.iter_mut().enumerate() {
            b.convs_mut(&format!("blocks.{i}"), &mut out);
        }
        for (i, c) in self.up.iter_mut().enumerate() {
            out.push((format!("up.{i}"), c));
        }
        self.last.convs_mut("last", &mut out);
        out.push(("head".to_string(), &mut self.head));
        out
    }

    /// Raw latents `[b, latent, s, s]` → images `[b, 3, s·2^down, s·2^down]` in [-1, 1].
    pub fn forward(&self, z: Tensor<4>) -> Tensor<4> {
        let mut h = relu(self.stem.forward(z));
        for (block, up) in self.blocks.iter().zip(&self.up) {
            h = relu(up.forward(upsample2(block.forward(h))));
        }
        self.head.forward(self.last.forward(h)).tanh()
    }
}
