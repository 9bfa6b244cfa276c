/*
 * api.html: renders paybridge's API description (GET /v1/openapi.yaml, served as a static
 * file by nginx or Apache) without a framework. The site loads nothing from another
 * origin, and no YAML parser comes with the browser, so this file has its own for the
 * subset docs/openapi.yaml keeps to (its header says which): block mappings and
 * sequences, one-line flow collections, plain and quoted scalars, | and > block scalars,
 * comments. tests/browser/api.test.mjs checks it reads the file exactly as python3-yaml
 * does, and that the page shows routes and error codes.
 */
'use strict';

var paybridgeYaml = (function () {
	function YamlError(message, line) {
		return new Error('openapi.yaml line ' + (line + 1) + ': ' + message);
	}

	function indentOf(s) {
		return s.length - s.replace(/^ +/, '').length;
	}

	function plain(s) {
		if (s === '' || s === '~' || s === 'null') return null;
		if (s === 'true') return true;
		if (s === 'false') return false;
		if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
		if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(s)) return parseFloat(s);
		return s;
	}

	// A one-line value: quoted, flow collection or plain. Returns [value, rest].
	function inline(s, line, inFlow) {
		var i, out, v, k;
		s = s.replace(/^ +/, '');
		if (s[0] === "'") {
			out = '';
			for (i = 1; i < s.length; i++) {
				if (s[i] === "'") {
					if (s[i + 1] === "'") { out += "'"; i++; continue; }
					return [out, s.slice(i + 1)];
				}
				out += s[i];
			}
			throw new YamlError('unterminated quote', line);
		}
		if (s[0] === '"') {
			for (i = 1; i < s.length; i++) {
				if (s[i] === '\\') { i++; continue; }
				if (s[i] === '"') return [JSON.parse(s.slice(0, i + 1)), s.slice(i + 1)];
			}
			throw new YamlError('unterminated quote', line);
		}
		if (s[0] === '[' || s[0] === '{') {
			var seq = s[0] === '[', close = seq ? ']' : '}';
			out = seq ? [] : {};
			s = s.slice(1).replace(/^ +/, '');
			while (s[0] !== close) {
				if (seq) {
					v = inline(s, line, true);
					out.push(v[0]);
				} else {
					k = inline(s, line, true);
					if (k[1].replace(/^ +/, '')[0] !== ':') throw new YamlError('expected ":"', line);
					v = inline(k[1].replace(/^ +/, '').slice(1), line, true);
					out[k[0]] = v[0];
				}
				s = v[1].replace(/^ +/, '');
				if (s[0] === ',') s = s.slice(1).replace(/^ +/, '');
				else if (s[0] !== close) throw new YamlError('expected "," or "' + close + '"', line);
			}
			return [out, s.slice(1)];
		}
		if (inFlow) {
			var m = /^[^,\]\}]*?(?=\s*(,|\]|\}|:\s|:$))/.exec(s);
			var text = m ? m[0] : s;
			return [plain(text.trim()), s.slice(text.length)];
		}
		return [plain(s.replace(/ +#.*$/, '').trim()), ''];
	}

	function Parser(text) {
		this.lines = text.replace(/\r\n?/g, '\n').split('\n');
		this.i = 0;
	}

	// Skips blank lines and comments; returns the index of the next content line or -1.
	Parser.prototype.next = function () {
		while (this.i < this.lines.length) {
			var t = this.lines[this.i].trim();
			if (t !== '' && t[0] !== '#') return this.i;
			this.i++;
		}
		return -1;
	};

	Parser.prototype.block = function (indent) {
		var n = this.next();
		if (n < 0) return null;
		var s = this.lines[n].slice(indent);
		return s === '-' || s.slice(0, 2) === '- ' ? this.sequence(indent) : this.mapping(indent);
	};

	// The value after "key:" or "- ": inline, a block scalar, or a nested block.
	Parser.prototype.value = function (rest, indent, line) {
		rest = rest.replace(/^ +/, '');
		if (rest === '' || rest[0] === '#') {
			var n = this.next();
			if (n >= 0 && indentOf(this.lines[n]) > indent) return this.block(indentOf(this.lines[n]));
			if (n >= 0 && indentOf(this.lines[n]) === indent &&
			    this.lines[n].slice(indent, indent + 2) === '- ') return this.sequence(indent);
			return null;
		}
		var bs = /^([|>])([-+]?)$/.exec(rest);
		if (bs) return this.scalarBlock(bs[1], bs[2], indent);
		var v = inline(rest, line, false);
		if (v[1].trim() !== '' && v[1].trim()[0] !== '#') throw new YamlError('trailing text', line);
		return v[0];
	};

	Parser.prototype.scalarBlock = function (style, chomp, indent) {
		var raw = [], at = -1;
		while (this.i < this.lines.length) {
			var l = this.lines[this.i];
			if (l.trim() !== '') {
				if (indentOf(l) <= indent) break;
				if (at < 0) at = indentOf(l);
			}
			raw.push(l);
			this.i++;
		}
		while (raw.length && raw[raw.length - 1].trim() === '') raw.pop();
		var body = raw.map(function (l) { return l.slice(at); });
		var text;
		if (style === '|') {
			text = body.join('\n');
		} else {
			text = '';
			for (var k = 0; k < body.length; k++) {
				var l2 = body[k];
				if (l2 === '') text += '\n';
				else if (k > 0 && body[k - 1] !== '' && l2[0] !== ' ' && body[k - 1][0] !== ' ') text += ' ' + l2;
				else text += (k > 0 && body[k - 1] !== '' ? '\n' : '') + l2;
			}
		}
		return chomp === '-' ? text : text + '\n';
	};

	Parser.prototype.mapping = function (indent) {
		var out = {}, n, s, k, rest;
		while ((n = this.next()) >= 0 && indentOf(this.lines[n]) === indent) {
			s = this.lines[n].slice(indent);
			if (s.slice(0, 2) === '- ') break;
			if (s[0] === "'" || s[0] === '"') {
				k = inline(s, n, true);
				rest = k[1];
				k = k[0];
			} else {
				var m = /^([^:]+?):( |$)/.exec(s);
				if (!m) throw new YamlError('expected "key:"', n);
				k = m[1];
				rest = ' ' + s.slice(m[0].length);
			}
			if (rest[0] === ':') rest = rest.slice(1);
			else if (rest.replace(/^ +/, '')[0] === ':') rest = rest.replace(/^ +/, '').slice(1);
			this.i = n + 1;
			out[k] = this.value(rest, indent, n);
		}
		if (n >= 0 && indentOf(this.lines[n]) > indent) throw new YamlError('bad indentation', n);
		return out;
	};

	Parser.prototype.sequence = function (indent) {
		var out = [], n, s;
		while ((n = this.next()) >= 0 && indentOf(this.lines[n]) === indent) {
			s = this.lines[n].slice(indent);
			if (s !== '-' && s.slice(0, 2) !== '- ') break;
			var content = s.slice(2);
			if (/^[^'"\[{][^:]*:( |$)/.test(content) || /^'[^']*':( |$)/.test(content)) {
				// "- key: value": a mapping whose keys sit two columns further in.
				this.lines[n] = this.lines[n].slice(0, indent) + '  ' + content;
				out.push(this.mapping(indent + 2));
			} else {
				this.i = n + 1;
				out.push(this.value(content, indent, n));
			}
		}
		return out;
	};

	return {
		parse: function (text) {
			var p = new Parser(text);
			var v = p.block(0);
			if (p.next() >= 0) throw new YamlError('unexpected text', p.i);
			return v;
		},
	};
}());

(function () {
	if (typeof document === 'undefined') return;

	var METHODS = ['get', 'post', 'put', 'patch', 'delete'];
	var spec;

	function el(tag, attrs, children) {
		var e = document.createElement(tag);
		Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
		(children || []).forEach(function (c) {
			if (c === null || c === undefined) return;
			e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
		});
		return e;
	}

	// Text with `code` spans, never markup.
	function prose(tag, text) {
		var e = el(tag, {});
		String(text || '').trim().split('`').forEach(function (part, i) {
			e.appendChild(i % 2 ? el('code', {}, [part]) : document.createTextNode(part));
		});
		return e;
	}

	function deref(o) {
		for (var n = 0; o && typeof o === 'object' && o.$ref && n < 20; n++) {
			o = o.$ref.slice(2).split('/').reduce(function (a, k) { return a && a[k]; }, spec);
		}
		return o;
	}

	function refName(o) {
		return o && o.$ref ? o.$ref.split('/').pop() : null;
	}

	function schemaLink(name) {
		return el('a', { href: '#schema-' + name }, [name]);
	}

	function typeText(s) {
		if (!s) return 'any';
		if (s.$ref && !s.properties) return null;
		if (s.const !== undefined) return JSON.stringify(s.const);
		if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
		var t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || '');
		if (s.type === 'array' && s.items) return null;
		return t || (s.oneOf ? 'one of' : 'object');
	}

	// A schema as nested lists: links to named schemas, members with their types.
	function schemaView(s, depth) {
		var t, li, ul;
		if (s === true) return document.createTextNode('any');
		if (s && s.$ref && !s.properties) return schemaLink(refName(s));
		if (s && s.$ref && s.properties && s.properties.data) {
			return el('span', {}, ['envelope ', schemaLink(refName(s)), ' with data: ',
				schemaView(s.properties.data, depth + 1)]);
		}
		if (s && s.type === 'array') return el('span', {}, ['array of ', schemaView(s.items, depth + 1)]);
		if (s && (s.oneOf || s.allOf)) {
			ul = el('ul', {});
			(s.oneOf || s.allOf).forEach(function (x) { ul.appendChild(el('li', {}, [schemaView(x, depth + 1)])); });
			return el('span', {}, [s.oneOf ? 'one of:' : 'all of:', ul]);
		}
		t = typeText(s);
		if (!s || !s.properties || depth > 4) return el('code', {}, [t || 'object']);
		ul = el('ul', { class: 'schema' });
		Object.keys(s.properties).forEach(function (k) {
			var p = s.properties[k];
			var req = (s.required || []).indexOf(k) >= 0;
			li = el('li', {}, [el('code', {}, [k]), req ? ' (required)' : '', ': ',
				schemaView(p, depth + 1)]);
			if (p && p.description) li.appendChild(prose('span', ' — ' + p.description));
			ul.appendChild(li);
		});
		if (s.additionalProperties === false) ul.appendChild(el('li', {}, ['nothing else']));
		return ul;
	}

	// The error codes a response's schema allows (Failure allOf {error: {code: enum}}).
	function errorCodes(resp) {
		var media = resp.content && resp.content['application/json'];
		var s = media && deref(media.schema);
		var codes = [];
		(s && s.allOf || []).forEach(function (part) {
			var e = part.properties && part.properties.error;
			var c = e && e.properties && e.properties.code;
			if (c && c.enum) codes = codes.concat(c.enum);
		});
		return codes;
	}

	function responsesView(responses) {
		var dl = el('dl', { class: 'responses' });
		Object.keys(responses).sort().forEach(function (status) {
			var r = deref(responses[status]);
			var dd = el('dd', {}, [prose('p', r.description)]);
			var codes = errorCodes(r);
			if (codes.length) {
				var p = el('p', { class: 'codes' }, ['error.code: ']);
				codes.forEach(function (c, i) {
					p.appendChild(el('code', { class: 'error-code' }, [c]));
					if (i < codes.length - 1) p.appendChild(document.createTextNode(', '));
				});
				dd.appendChild(p);
			} else if (r.content) {
				Object.keys(r.content).forEach(function (type) {
					var sch = r.content[type].schema;
					dd.appendChild(el('p', {}, [el('code', {}, [type]), ': ',
						sch ? schemaView(sch, 0) : 'any']));
				});
			}
			if (r.headers) {
				dd.appendChild(el('p', {}, ['Headers: ' + Object.keys(r.headers).join(', ')]));
			}
			dl.appendChild(el('dt', {}, [el('span', { class: 'status' }, [status])]));
			dl.appendChild(dd);
		});
		return dl;
	}

	function parametersView(params) {
		if (!params.length) return null;
		var ul = el('ul', {});
		params.map(deref).forEach(function (p) {
			var li = el('li', {}, [el('code', {}, [p.name]), ' (' + p.in + (p.required ? ', required' : '') + ')']);
			var d = p.description || (p.schema && p.schema.description);
			if (d) li.appendChild(prose('span', ' — ' + d));
			ul.appendChild(li);
		});
		return el('div', {}, [el('h4', {}, ['Parameters']), ul]);
	}

	function operationView(path, method, op, shared) {
		var id = 'op-' + (op.operationId || method + path.replace(/[^a-z0-9]+/gi, '-'));
		var sec = op.security || spec.security || [];
		var auth = sec.length === 0 || (sec.length === 1 && Object.keys(sec[0]).length === 0) ?
			'No token needed.' : 'Needs a bearer token (' + sec.map(function (s) {
				return Object.keys(s).join('+');
			}).join(' or ') + ').';
		var section = el('section', { class: 'operation', id: id }, [
			el('h3', {}, [el('span', { class: 'method' }, [method.toUpperCase()]), ' ',
				el('code', { class: 'path' }, [path])]),
			op.summary ? prose('p', op.summary) : null,
			op.description ? prose('p', op.description) : null,
			el('p', { class: 'auth' }, [auth]),
			parametersView((shared || []).concat(op.parameters || [])),
		]);
		if (op.requestBody) {
			var rb = deref(op.requestBody);
			var body = el('div', {}, [el('h4', {}, ['Request body' + (rb.required ? '' : ' (optional)')])]);
			Object.keys(rb.content || {}).forEach(function (type) {
				body.appendChild(el('p', {}, [el('code', {}, [type]), ': ', schemaView(rb.content[type].schema, 0)]));
			});
			section.appendChild(body);
		}
		section.appendChild(el('h4', {}, ['Responses']));
		section.appendChild(responsesView(op.responses || {}));
		return section;
	}

	function render(root) {
		var info = spec.info || {};
		var toc = el('ul', { class: 'toc' });
		var ops = el('div', {});
		root.appendChild(el('p', {}, ['OpenAPI ' + spec.openapi + ', version ' + info.version +
			'. The description itself: ', el('a', { href: '/v1/openapi.yaml' }, ['/v1/openapi.yaml']), '.']));
		if (info.description) root.appendChild(prose('p', info.description));
		Object.keys(spec.paths || {}).forEach(function (path) {
			var item = spec.paths[path];
			METHODS.forEach(function (m) {
				if (!item[m]) return;
				var view = operationView(path, m, item[m], item.parameters);
				toc.appendChild(el('li', {}, [el('a', { href: '#' + view.id }, [m.toUpperCase() + ' ' + path])]));
				ops.appendChild(view);
			});
		});
		root.appendChild(el('h2', {}, ['Routes']));
		root.appendChild(toc);
		root.appendChild(ops);
		var schemas = (spec.components || {}).schemas || {};
		root.appendChild(el('h2', {}, ['Schemas']));
		Object.keys(schemas).forEach(function (name) {
			var s = schemas[name];
			var sec = el('section', { class: 'schema', id: 'schema-' + name }, [el('h3', {}, [name])]);
			if (s.description) sec.appendChild(prose('p', s.description));
			sec.appendChild(s.allOf ? el('p', {}, ['error.code: ' + errorCodes({
				content: { 'application/json': { schema: s } } }).join(', ')]) : schemaView(s, 0));
			root.appendChild(sec);
		});
	}

	document.addEventListener('DOMContentLoaded', function () {
		var root = document.getElementById('api');
		var status = document.getElementById('api-status');
		fetch('/v1/openapi.yaml', { headers: { Accept: 'application/yaml' } }).then(function (r) {
			if (!r.ok) throw new Error('GET /v1/openapi.yaml answered ' + r.status);
			return r.text();
		}).then(function (text) {
			spec = paybridgeYaml.parse(text);
			document.getElementById('api-loading').hidden = true;
			render(root);
		}).catch(function (e) {
			document.getElementById('api-loading').hidden = true;
			status.className = 'notice error';
			status.textContent = 'The API description could not be shown: ' + e.message;
			status.focus();
		});
	});
}());
