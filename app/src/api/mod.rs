//! Server functions, grouped by feature. Each is thin: it checks who is asking, calls a
//! service, and maps the result to `AppError`.

pub mod campus;
pub mod portal;
pub mod staff;
pub mod terminal;
pub mod topup;
