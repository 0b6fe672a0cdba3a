//! Who may take a browser out of terminal mode. A till or kiosk stands where anyone passes;
//! leaving it needs a staff login, and not any staff login.

use crate::model::StaffRole;

/// May this staff member end the web terminal of this device? The card office's operators and
/// administrators may end any terminal; a merchant's cashier only a till of their own merchant
/// (closing it at the end of the day); an auditor none (they change nothing).
pub fn may_leave(
    role: StaffRole,
    staff_merchant: Option<i64>,
    device_merchant: Option<i64>,
) -> bool {
    match role {
        StaffRole::Operator | StaffRole::Admin => true,
        StaffRole::Merchant => staff_merchant.is_some() && staff_merchant == device_merchant,
        StaffRole::Auditor => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StaffRole::*;

    #[test]
    fn who_may_end_a_terminal() {
        // (role, the staff member's merchant, the device's merchant, may leave)
        let table = [
            (Operator, None, Some(1), true),
            (Operator, None, None, true),
            (Admin, None, Some(1), true),
            (Auditor, None, Some(1), false),
            (Auditor, None, None, false),
            (Merchant, Some(1), Some(1), true),
            (Merchant, Some(1), Some(2), false),
            (Merchant, Some(1), None, false),
            (Merchant, None, None, false),
        ];
        for (role, staff, device, want) in table {
            assert_eq!(
                may_leave(role, staff, device),
                want,
                "{role:?} {staff:?} {device:?}"
            );
        }
    }
}
