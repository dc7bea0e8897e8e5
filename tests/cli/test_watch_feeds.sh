#!/bin/bash
# copydesk watch polls the feeds a desk declares, from a server on
# 127.0.0.1: RSS 2.0, Atom, JSON Feed and JSON lines items are routed once
# each (by guid/id, or by an id made from the content of an item with
# none); a feed is read in the charset of its HTTP Content-Type, repaired
# (a raw &nbsp;) with a warning in the log, its relative links resolved
# against its address; an unchanged feed costs a conditional request (304);
# new items are routed at the next poll; items already routed are not
# routed again after a restart (remembered in the state folder); a feed
# that fails is logged and the others go on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"

build_http
train_model
http_start feeds
P=$PORT_feeds
F="$W/www/feeds"

rss_item() {  # GUID TITLE
    printf '<item><title>%s</title><link>http://example.test/%s</link><guid isPermaLink="false">%s</guid>
<description>&lt;p&gt;The striker scored twice and the &lt;b&gt;manager&lt;/b&gt; praised the team.&lt;/p&gt;</description>
<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate></item>\n' "$2" "$1" "$1"
}
write_rss() {  # GUIDS...
    { printf '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Wire</title>\n'
      for g in "$@"; do rss_item "$g" "Cup final report $g"; done
      printf '</channel></rss>\n'; } >"$F/.rss.tmp" && mv "$F/.rss.tmp" "$F/rss.xml"
}
write_rss rss-1 rss-2
cat >"$F/atom.xml" <<'EOF2'
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom wire</title>
  <entry><title>Shares rise as profits beat forecasts</title>
    <link rel="alternate" href="http://example.test/atom-1"/><id>urn:uuid:atom-1</id>
    <updated>2024-01-01T10:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">The firm reported <b>higher profits</b> and sales.</div></content></entry>
  <entry><title>Second atom entry</title><id>urn:uuid:atom-2</id><summary>Markets and shares.</summary></entry>
</feed>
EOF2
cat >"$F/feed.json" <<'EOF2'
{"version": "https://jsonfeed.org/version/1.1", "title": "JSON wire",
 "items": [{"id": "jf-1", "title": "Goal in the final", "content_html": "<p>The <i>striker</i> scored.</p>",
            "url": "http://example.test/jf-1"},
           {"id": "jf-2", "title": "Profits", "content_text": "The company made profits."}]}
EOF2
printf '%s\n%s\n' '{"id":"jl-1","title":"Line one","body":"sport story body","section":"sport"}' \
    '{"id":"jl-2","title":"Line two","body":"business story body"}' >"$F/items.jsonl"

# windows-1252 said by the HTTP charset only, a raw &nbsp;, a relative
# link, an item with no guid, link or title
write_latin() {  # EXTRA-ITEM-TITLE
    { printf '<rss version="2.0"><channel><title>Latin</title>\n'
      printf '<item><guid>lat-1</guid><title>Caf\xe9&nbsp;society \x93quoted\x94</title><link>news/lat-1.html</link>'
      printf '<description>The striker scored.</description></item>\n'
      printf '<item><description>Only a description, no id at all.</description></item>\n'
      [ -n "${1:-}" ] && printf '<item><guid>%s</guid><title>%s</title></item>\n' "$1" "$1"
      printf '</channel></rss>\n'; } >"$F/.latin.tmp" && mv "$F/.latin.tmp" "$F/latin.xml"
}
printf 'application/rss+xml; charset=windows-1252\n' >"$F/latin.xml.type"
write_latin

cat >"$W/desk.lua" <<EOF2
model("sections", "sections.cdm")
taxonomy { { id = "sport", name = "Sport", labels = { "sections:sport" } } }
feed "wire"  { url = "http://127.0.0.1:$P/rss.xml", every = 1, timeout = 5 }
feed "atom"  { url = "http://127.0.0.1:$P/atom.xml", every = 1 }
feed "jf"    { url = "http://127.0.0.1:$P/feed.json", every = 1, format = "jsonfeed" }
feed "lines" { url = "http://127.0.0.1:$P/items.jsonl", every = 1 }
feed "gone"  { url = "http://127.0.0.1:$P/missing.xml", every = 1 }
feed "latin" { url = "http://127.0.0.1:$P/latin.xml", every = 1 }
destination "all" { jsonl = "out/all.jsonl" }
fallback "all"
EOF2
run 0 "a desk with feeds checks" -- cd_ check -c "$W/desk.lua"
printf 'feed "x" { url = "ftp://example.test/x" }\nfallback "a"\n' >"$W/badfeed.lua"
run 2 "a feed with a bad url is refused" -- cd_ check -c "$W/badfeed.lua"
has "saying why" "$T/err" "feed 'x': url must be an http"

item() { grep "\"id\":\"$1\"" "$W/out/all.jsonl" | head -1 >"$W/item.json"; echo "$W/item.json"; }
count_id() { grep -c "\"id\":\"$1\"" "$W/out/all.jsonl" 2>/dev/null || echo 0; }
routed() { [ "$(count_id "$1")" -ge 1 ]; }
polls_304() { [ "$(grep -c "GET /rss.xml 304" "$W/feeds.posts.req")" -ge "$1" ]; }

watch_start "$W/log" -c "$W/desk.lua" --state "$W/state"
check "RSS items are routed" 20 routed rss-2
check "Atom entries are routed" 20 routed urn:uuid:atom-2
check "JSON Feed items are routed" 20 routed jf-2
check "JSON lines items are routed" 20 routed jl-2
jqtrue "RSS: title, body without HTML, link and feed pass through" \
    "$(item rss-1)" \
    '.title == "Cup final report rss-1" and (.body | startswith("The striker scored twice and the manager")) and .meta.link == "http://example.test/rss-1" and .meta.feed == "wire"'
jqtrue "Atom: XHTML content as text, the alternate link" "$(item urn:uuid:atom-1)" \
    '(.body | test("The firm reported higher profits")) and .meta.link == "http://example.test/atom-1"'
jqtrue "JSON lines: the item's own fields" "$(item jl-1)" '.meta.section == "sport"'
check "an unchanged feed costs a 304" 20 polls_304 1
check "a failing feed is logged" 10 has_line "$W/log" 'feed-error what=gone .*HTTP 404'
check "HTTP charset feed items are routed" 20 routed lat-1
jqtrue "the HTTP charset, &nbsp; and a link against the feed's address" "$(item lat-1)" \
    ".title == \"Café society “quoted”\" and .meta.link == \"http://127.0.0.1:$P/news/lat-1.html\""
check "a repaired feed is a warning in the log" 10 has_line "$W/log" 'feed-warning what=latin .*&nbsp;'
noid() { grep -c 'Only a description, no id at all' "$W/out/all.jsonl" 2>/dev/null || echo 0; }
idless_routed() { [ "$(noid)" -ge 1 ]; }
check "an item with no id is routed" 20 idless_routed
write_latin lat-2
check "the changed feed is read again" 20 routed lat-2
same "the item with no id is routed once: its id is stable" "$(noid)" 1
write_rss rss-1 rss-2 rss-3
check "a new item is routed at the next poll" 20 routed rss-3
for id in rss-1 rss-2 rss-3 urn:uuid:atom-1 jf-1 jl-1; do
    same "item $id routed exactly once" "$(count_id "$id")" 1
done
jqtrue "the status lists the feeds" "$W/state/status.json" \
    '(.feeds | length) == 6 and ([.feeds[] | select(.name == "gone") | .last_error] | length) == 1'
watch_stop
same "stops cleanly" "$WATCH_RC" 0

# restarted, with a changed feed (its validators no longer match): only the
# new item is routed, the old ones are remembered
write_rss rss-1 rss-2 rss-3 rss-4
polled=$(grep -c "feed name=lines result=" "$W/log")
watch_start "$W/log" -c "$W/desk.lua" --state "$W/state"
check "after a restart, the new item is routed" 20 routed rss-4
check "the other feeds were polled again" 20 matching $((polled + 2)) "$W/log" "feed name=lines result="
watch_stop
for id in rss-1 rss-3 urn:uuid:atom-2 jf-2 jl-2; do
    same "after the restart, $id still routed once" "$(count_id "$id")" 1
done
