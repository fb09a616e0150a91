//! The host's fixed lookup tables: message texts, colors and layer names, exactly as the
//! original pxVM had them.

/// The text of message `id` (PRINT and TEXT).
pub fn message(id: i32) -> Option<&'static str> {
    Some(match id {
        1 => "PXVM booting...",
        2 => "PXVM ready.",
        3 => "Task complete.",
        4 => "Kernel init done.",
        5 => "Process started.",
        6 => "Process terminated.",
        _ => return None,
    })
}

/// An RGBA color.
pub type Rgba = [u8; 4];

/// The color for `id` (RECT and TEXT).
pub fn color(id: i32) -> Option<Rgba> {
    Some(match id {
        1 => [40, 40, 100, 255],
        2 => [20, 20, 60, 255],
        3 => [0, 0, 40, 255],
        4 => [255, 255, 255, 255],
        5 => [200, 200, 255, 255],
        _ => return None,
    })
}

/// RECT's color for an unknown color id.
pub const UNKNOWN_RECT_COLOR: Rgba = [255, 0, 255, 255];

/// TEXT's color for an unknown color id.
pub const UNKNOWN_TEXT_COLOR: Rgba = [255, 255, 255, 255];

/// The name of layer `id` (LAYER_USE).
pub fn layer(id: i32) -> Option<&'static str> {
    Some(match id {
        1 => "background",
        2 => "ui",
        3 => "vm",
        4 => "overlay",
        _ => return None,
    })
}
