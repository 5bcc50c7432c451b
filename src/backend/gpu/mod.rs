//! The wgpu backend (WGSL compute shaders): see issue 4. Not built yet.
