//! A small SVG/XML writer: elements with escaped attributes and text, nesting checked.
//! Enough for the sequence diagrams; no dependency, and its output is plain markup a
//! browser renders without scripts.

use std::fmt::Write;

/// Escapes `s` for XML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Markup under construction; [`Writer::finish`] checks every element was closed.
#[derive(Default)]
pub struct Writer {
    buf: String,
    open: Vec<&'static str>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, tag: &'static str, attrs: &[(&str, String)]) {
        let _ = write!(self.buf, "<{tag}");
        for (k, v) in attrs {
            let _ = write!(self.buf, " {k}=\"{}\"", esc(v));
        }
    }

    /// Opens `<tag …>`; close it with [`Writer::close`].
    pub fn open(&mut self, tag: &'static str, attrs: &[(&str, String)]) {
        self.start(tag, attrs);
        self.buf.push('>');
        self.open.push(tag);
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        let tag = self.open.pop().expect("an open element");
        let _ = write!(self.buf, "</{tag}>");
    }

    /// `<tag …/>`.
    pub fn empty(&mut self, tag: &'static str, attrs: &[(&str, String)]) {
        self.start(tag, attrs);
        self.buf.push_str("/>");
    }

    /// `<tag …>text</tag>`, the text escaped.
    pub fn text(&mut self, tag: &'static str, attrs: &[(&str, String)], text: &str) {
        self.start(tag, attrs);
        let _ = write!(self.buf, ">{}</{tag}>", esc(text));
    }

    /// The markup; panics if an element is still open (a bug in the caller).
    pub fn finish(self) -> String {
        assert!(self.open.is_empty(), "unclosed: {:?}", self.open);
        self.buf
    }
}

/// Shorthand for an attribute list: `attrs![("x", 3), ("class", "bar")]`.
#[macro_export]
macro_rules! attrs {
    ($(($k:expr, $v:expr)),* $(,)?) => {
        &[$(($k, $v.to_string())),*]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        let mut w = Writer::new();
        w.open("g", attrs![("class", "lane"), ("data-x", "a\"b<c>")]);
        w.text("title", attrs![], "&udev->dev.mutex");
        w.empty("rect", attrs![("x", 1), ("y", 2.5)]);
        w.close();
        assert_eq!(
            w.finish(),
            "<g class=\"lane\" data-x=\"a&quot;b&lt;c&gt;\"><title>&amp;udev-&gt;dev.mutex</title>\
<rect x=\"1\" y=\"2.5\"/></g>"
        );
    }

    #[test]
    #[should_panic(expected = "unclosed")]
    fn an_unclosed_element_is_a_bug() {
        let mut w = Writer::new();
        w.open("svg", attrs![]);
        let _ = w.finish();
    }
}
