//! One module per route.

pub mod card;
pub mod care;
pub mod email_confirm;
pub mod faq;
pub mod found;
pub mod home;
pub mod install;
pub mod login;
pub mod portal;
pub mod service;
pub mod staff;
pub mod terminal;
