// A small, safe Markdown renderer: every piece of text is HTML-escaped before any markup is added,
// so model output can never inject elements or attributes. Covers fenced code, inline code,
// headings, bold, italic, links (http/https only), lists, quotes and paragraphs.
(function (global) {
  'use strict';

  function escapeHtml(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }

  // Inline markup on already-escaped text. Code spans are cut out first so nothing inside them is touched.
  function inline(escaped) {
    var codes = [];
    var s = escaped.replace(/`([^`]+)`/g, function (_, c) {
      codes.push(c);
      return '\u0000' + (codes.length - 1) + '\u0000';
    });
    s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/__([^_]+)__/g, '<strong>$1</strong>')
      .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
      .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, function (_, text, url) {
        return '<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + text + '</a>';
      });
    return s.replace(/\u0000(\d+)\u0000/g, function (_, i) { return '<code>' + codes[+i] + '</code>'; });
  }

  function render(src) {
    var lines = escapeHtml(src).split('\n');
    var out = [];
    var para = [];
    var list = null;   // 'ul' or 'ol' while inside a list
    function flushPara() {
      if (para.length) { out.push('<p>' + inline(para.join('<br>')) + '</p>'); para = []; }
    }
    function closeList() {
      if (list) { out.push('</' + list + '>'); list = null; }
    }
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      var fence = line.match(/^\s*```\s*([\w+-]*)\s*$/);
      if (fence) {
        flushPara(); closeList();
        var code = [];
        i++;
        while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) { code.push(lines[i]); i++; }
        // An unclosed fence (still streaming) renders as code up to the end.
        var cls = fence[1] ? ' class="language-' + fence[1] + '"' : '';
        out.push('<pre><code' + cls + '>' + code.join('\n') + '</code></pre>');
        continue;
      }
      var h = line.match(/^(#{1,6})\s+(.*)$/);
      var ul = line.match(/^\s*[-*+]\s+(.*)$/);
      var ol = line.match(/^\s*\d+[.)]\s+(.*)$/);
      var quote = line.match(/^&gt;\s?(.*)$/);
      if (h) {
        flushPara(); closeList();
        out.push('<h' + h[1].length + '>' + inline(h[2]) + '</h' + h[1].length + '>');
      } else if (ul || ol) {
        flushPara();
        var kind = ul ? 'ul' : 'ol';
        if (list !== kind) { closeList(); out.push('<' + kind + '>'); list = kind; }
        out.push('<li>' + inline((ul || ol)[1]) + '</li>');
      } else if (quote) {
        flushPara(); closeList();
        out.push('<blockquote>' + inline(quote[1]) + '</blockquote>');
      } else if (/^\s*$/.test(line)) {
        flushPara(); closeList();
      } else {
        closeList();
        para.push(line);
      }
    }
    flushPara(); closeList();
    return out.join('\n');
  }

  global.RedHareMarkdown = { render: render, escapeHtml: escapeHtml };
})(window);
