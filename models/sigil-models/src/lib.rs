//! Sigil's generator models, for inference (training lives in `sigil-train`): the MiniLM text
//! encoder and its WordPiece tokenizer, the autoencoder between images and latents, the
//! flow-matching denoiser, its sampler, and the judge classifier used for evaluation.
//!
//! Everything is written against burn 0.22's backend-independent `Tensor`: the backend is
//! chosen by the `Device` the caller passes (flex on CPU today; wgpu comes with the runtime).

pub mod error;
pub mod flops;
pub mod minilm;
pub mod tokenizer;

pub use error::ModelError;
pub mod autoencoder;
pub mod backend;
pub mod captions;
pub mod conv;
pub mod denoiser;
pub mod judge;
pub mod outcheck;
pub mod pack;
pub mod pipeline;
pub mod prior;
pub mod rng;
pub mod sampler;
pub mod steer;
