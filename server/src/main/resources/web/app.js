// The chat page: keeps the conversation in memory, streams replies from /v1/chat/completions (SSE),
// shows reasoning folded apart from the answer, and can stop a reply mid-stream.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var PAINT_MS = 50;
  var history = [];          // [{role, content}]
  var controller = null;     // AbortController of the reply being streamed
  var modelId = 'default';

  var settingsIds = ['system', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'max_tokens', 'api_key'];
  settingsIds.forEach(function (id) {
    var saved = localStorage.getItem('redhare.' + id);
    if (saved !== null) $(id).value = saved;
    $(id).addEventListener('change', function () { localStorage.setItem('redhare.' + id, $(id).value); });
  });

  function headers() {
    var h = { 'Content-Type': 'application/json' };
    if ($('api_key').value) h['Authorization'] = 'Bearer ' + $('api_key').value;
    return h;
  }

  function showError(msg) {
    $('error').textContent = msg;
    $('error').hidden = !msg;
  }

  function loadModel() {
    fetch('/v1/models', { headers: headers() }).then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
      .then(function (rj) {
        if (rj[0].ok && rj[1].data && rj[1].data.length) {
          modelId = rj[1].data[0].id;
          $('model-name').textContent = modelId;
          applyModelDefaults(rj[1].data[0].sampling_defaults || {});
        } else {
          $('model-name').textContent = (rj[1].error && rj[1].error.message) || 'not ready';
          setTimeout(loadModel, 2000);
        }
      }).catch(function () { $('model-name').textContent = 'server unreachable'; setTimeout(loadModel, 2000); });
  }

  // The model's recommended sampling (its generation_config.json) replaces the page's own starting values, except
  // where the user has changed a field (kept in localStorage); the field's tooltip says where its value came from.
  function applyModelDefaults(d) {
    ['temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty'].forEach(function (id) {
      if (typeof d[id] !== 'number') return;
      $(id).title = 'the model recommends ' + d[id];
      if (localStorage.getItem('redhare.' + id) === null) $(id).value = d[id];
    });
  }

  function addMessage(role) {
    var div = document.createElement('div');
    div.className = 'msg ' + role;
    var label = document.createElement('div');
    label.className = 'role';
    label.textContent = role;
    div.appendChild(label);
    var details = document.createElement('details');
    details.className = 'thinking';
    details.hidden = true;
    var summary = document.createElement('summary');
    summary.textContent = 'Reasoning';
    var reasoning = document.createElement('div');
    reasoning.className = 'reasoning';
    details.appendChild(summary);
    details.appendChild(reasoning);
    div.appendChild(details);
    var body = document.createElement('div');
    body.className = 'content';
    div.appendChild(body);
    var stats = document.createElement('div');
    stats.className = 'stats';
    div.appendChild(stats);
    $('messages').appendChild(div);
    return { root: div, details: details, reasoning: reasoning, body: body, stats: stats };
  }

  function scrollDown() { $('messages').scrollTop = $('messages').scrollHeight; }

  function setBusy(busy) {
    $('send').hidden = busy;
    $('stop').hidden = !busy;
    $('input').disabled = busy;
  }

  function num(id) { var v = parseFloat($(id).value); return isNaN(v) ? undefined : v; }

  function send(text) {
    showError('');
    history.push({ role: 'user', content: text });
    var u = addMessage('user');
    u.body.innerHTML = RedHareMarkdown.render(text);
    var a = addMessage('assistant');
    a.root.classList.add('streaming');
    var messages = [];
    if ($('system').value.trim()) messages.push({ role: 'system', content: $('system').value });
    messages = messages.concat(history);
    var body = {
      model: modelId, messages: messages, stream: true, stream_options: { include_usage: true },
      temperature: num('temperature'), top_p: num('top_p'), top_k: num('top_k'), min_p: num('min_p'),
      repetition_penalty: num('repetition_penalty'), max_tokens: num('max_tokens')
    };
    var content = '', reasoning = '', started = performance.now(), tokens = 0;
    // Deltas only append to these strings; the DOM is repainted at most every PAINT_MS. Rendering the Markdown of the
    // whole reply on every token is quadratic: a fast model streaming thousands of tokens would keep the browser busy
    // long after the text arrived, and the stop button would not answer.
    var painted = 0, paintTimer = null, shownContent = '', shownReasoning = '';
    function paint() {
      if (paintTimer !== null) { clearTimeout(paintTimer); paintTimer = null; }
      painted = performance.now();
      if (reasoning !== shownReasoning) {
        shownReasoning = reasoning;
        a.details.hidden = false;
        a.reasoning.textContent = reasoning;
      }
      if (content !== shownContent) {
        shownContent = content;
        a.body.innerHTML = RedHareMarkdown.render(content);
      }
      scrollDown();
    }
    function schedulePaint() {
      if (paintTimer === null) paintTimer = setTimeout(paint, Math.max(0, PAINT_MS - (performance.now() - painted)));
    }
    controller = new AbortController();
    setBusy(true);
    function finish(note) {
      paint();
      a.root.classList.remove('streaming');
      a.root.classList.add('done');
      history.push({ role: 'assistant', content: content });
      var secs = (performance.now() - started) / 1000;
      a.stats.textContent = (tokens ? tokens + ' tokens, ' + (tokens / secs).toFixed(1) + ' tok/s' : '') + (note ? ' · ' + note : '');
      controller = null;
      setBusy(false);
      $('input').focus();
    }
    fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal })
      .then(function (r) {
        if (!r.ok) {
          return r.json().then(function (j) { throw new Error((j.error && j.error.message) || ('HTTP ' + r.status)); });
        }
        var reader = r.body.getReader();
        var decoder = new TextDecoder();
        var buf = '';
        function pump() {
          return reader.read().then(function (res) {
            if (res.done) { finish(); return; }
            buf += decoder.decode(res.value, { stream: true });
            var cut;
            while ((cut = buf.indexOf('\n\n')) >= 0) {
              var event = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              if (event.indexOf('data: ') !== 0) continue;
              var data = event.slice(6);
              if (data === '[DONE]') continue;
              var o = JSON.parse(data);
              if (o.error) throw new Error(o.error.message);
              if (o.usage) tokens = o.usage.completion_tokens;
              (o.choices || []).forEach(function (c) {
                var d = c.delta || {};
                if (d.reasoning_content) reasoning += d.reasoning_content;
                if (d.content) content += d.content;
              });
            }
            schedulePaint();
            return pump();
          });
        }
        return pump();
      })
      .catch(function (e) {
        if (e.name === 'AbortError') { finish('stopped'); return; }
        showError(e.message);
        finish('error');
      });
  }

  $('composer').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('input').value.trim();
    if (!text || controller) return;
    $('input').value = '';
    send(text);
  });
  $('input').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
  });
  $('stop').addEventListener('click', function () { if (controller) controller.abort(); });
  $('new-chat').addEventListener('click', function () {
    if (controller) controller.abort();
    history = [];
    $('messages').innerHTML = '';
    showError('');
    $('input').focus();
  });
  $('toggle-settings').addEventListener('click', function () { $('settings').hidden = !$('settings').hidden; });
  loadModel();
})();
