//! Training and evaluation of Sigil's models on burn's `flex` CPU backend: the autoencoder, the
//! flow-matching teacher and the judge, each a resumable stage with checkpoints, a loss log and
//! a progress bar; and the evaluation harness that scores a model with the judge.

pub mod ae;
pub mod checkpoint;
pub mod data;
pub mod distill;
pub mod error;
pub mod eval;
pub mod fid;
pub mod judge;
pub mod outcheck;
pub mod packing;
pub mod preset;
pub mod prior;
pub mod progress;
mod sheet;
pub use sigil_models::rng;
pub mod stage;
pub mod teacher;
pub mod text;

pub use error::TrainError;
