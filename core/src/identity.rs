//! Identity verification (R4): a person's name and resident ID number are checked before they
//! are saved. Production asks the national population platform through an adapter; the local
//! checker, the default, accepts any well-formed pair.

use crate::error::{DomainError, FieldError, Problem};

/// Which identity service checks people.
#[derive(Clone, Debug, Default)]
pub enum IdentityVerifier {
    /// Checks the form of the name and the GB 11643 check character only.
    #[default]
    Local,
}

impl IdentityVerifier {
    /// `Ok` when the service confirms that `id_number` belongs to `name`.
    pub async fn verify(&self, field: &str, name: &str, id_number: &str) -> Result<(), DomainError> {
        match self {
            IdentityVerifier::Local => {
                crate::validate::resident_id(field, id_number).map_err(|e| DomainError::Validation(vec![e]))?;
                if crate::validate::person_name("person_name", name).is_err() {
                    return Err(DomainError::Validation(vec![FieldError::new("person_name", Problem::BadFormat)]));
                }
                Ok(())
            }
        }
    }
}
