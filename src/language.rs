//! Language detection for `--stopwords auto`: whatlang's trigram and script model, its
//! ISO 639-3 answer given as the ISO 639-1 code the stop-word lists are named by.

use whatlang::Lang;

/// What a text's language was found to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// ISO 639-1 code.
    pub code: &'static str,
    /// whatlang's confidence, 0 to 1.
    pub confidence: f64,
    /// whatlang's own judgement of that confidence.
    pub reliable: bool,
}

/// The language of `text`, or `None` when whatlang finds none (no letters, say).
pub fn detect(text: &str) -> Option<Detected> {
    let info = whatlang::detect(text)?;
    Some(Detected {
        code: iso_639_1(info.lang()),
        confidence: info.confidence(),
        reliable: info.is_reliable(),
    })
}

/// The ISO 639-1 codes of every language whatlang can detect: a listed language that is
/// not among them is never an answer (its texts come out as a neighbour's).
pub fn codes() -> Vec<&'static str> {
    Lang::all().iter().map(|&l| iso_639_1(l)).collect()
}

/// Every language whatlang detects has an ISO 639-1 code. Norwegian Bokmål is given as
/// `no`, the code stop-word lists use for Norwegian; Mandarin as `zh`, Persian as `fa`.
fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "no",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_own_two_letter_code() {
        let codes: std::collections::HashSet<_> =
            Lang::all().iter().map(|&l| iso_639_1(l)).collect();
        assert_eq!(codes.len(), Lang::all().len());
        assert!(codes
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn detects_scripts_and_trigrams() {
        let french = "Le chat est sur la table et il regarde les oiseaux dans le jardin.";
        assert_eq!(detect(french).map(|d| d.code), Some("fr"));
        assert_eq!(
            detect("これは日本語の文章です。").map(|d| d.code),
            Some("ja")
        );
        assert_eq!(detect("1234 !!!"), None);
    }
}
