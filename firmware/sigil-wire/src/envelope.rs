//! The envelope: frozen header (magic, version, request id) around one request or response.

use serde::{Deserialize, Serialize};

use crate::{MAGIC, Request, Response, WIRE_VERSION};

/// One message on the wire.
///
/// The first three fields are the frozen header (see the crate documentation): their order and
/// encoding never change, whatever the version, so any build can tell which version a frame
/// speaks before it decodes the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Envelope<'a> {
    /// Always [`MAGIC`] (`b"SW"`).
    pub magic: [u8; 2],
    /// The sender's wire version, [`WIRE_VERSION`].
    pub version: u16,
    /// Request id chosen by the host; the device echoes it in the response.
    pub id: u32,
    /// The message itself.
    #[serde(borrow)]
    pub body: Body<'a>,
}

impl<'a> Envelope<'a> {
    /// An envelope with this build's magic and version.
    pub const fn new(id: u32, body: Body<'a>) -> Self {
        Self {
            magic: MAGIC,
            version: WIRE_VERSION,
            id,
            body,
        }
    }

    /// A request envelope with this build's magic and version.
    pub const fn request(id: u32, request: Request<'a>) -> Self {
        Self::new(id, Body::Request(request))
    }

    /// A response envelope with this build's magic and version.
    pub const fn response(id: u32, response: Response<'a>) -> Self {
        Self::new(id, Body::Response(response))
    }
}

/// Which way a message travels.
///
/// Variant order is part of the wire format: append only (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Body<'a> {
    /// Host to device.
    #[serde(borrow)]
    Request(Request<'a>),
    /// Device to host.
    #[serde(borrow)]
    Response(Response<'a>),
}
