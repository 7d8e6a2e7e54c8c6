//! R16: personal data is shown masked except to those who need it.

/// `110105199001011234` → `110***********1234`.
pub fn id_number(id: &str) -> String {
    keep_ends(id, 3, 4)
}

/// R18: for comparison with the ID card at a registered counter: `110105199001011234` →
/// `**************1234`, the last four characters only.
pub fn id_number_last_four(id: &str) -> String {
    keep_ends(id, 0, 4)
}

/// `13812345678` → `138****5678`.
pub fn mobile(mobile: &str) -> String {
    keep_ends(mobile, 3, 4)
}

/// `张三` → `张*`, `欧阳娜娜` → `欧***`.
pub fn person_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - head - tail;
    chars[..head].iter().chain(std::iter::repeat_n(&'*', hidden)).chain(&chars[chars.len() - tail..]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r16_masks_keep_only_the_ends() {
        assert_eq!(id_number("11010519900101123X"), "110***********123X");
        assert_eq!(mobile("13812345678"), "138****5678");
        assert_eq!(id_number_last_four("11010519900101123X"), "**************123X", "R18");
        assert_eq!(id_number_last_four("1234"), "****", "too short to show any of it");
        assert_eq!(person_name("张三"), "张*");
        assert_eq!(person_name("欧阳娜娜"), "欧***");
        assert_eq!(mobile("123"), "***");
        assert_eq!(person_name(""), "");
    }
}
