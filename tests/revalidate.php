<?php
// revalidate.php: a PHP application that answers conditional requests
// itself, for tests/it_revalidate.sh (php-cgi behind bocache). It sends
// ETag "rv-VERSION", a fixed Last-Modified and Cache-Control: max-age=1
// (?cc=no-cache: no-cache), and answers 304 Not Modified, with no body,
// when If-None-Match names its ETag ("*" or a member of the list, weak
// comparison) or, without If-None-Match, If-Modified-Since is its
// Last-Modified byte for byte (RFC 9110 13.1.1, 13.1.3, 13.2.2).
//
// It keeps its state in the directory that REVALIDATE_STATE names (a
// FastCGI parameter from the web server, or the environment; beside the
// script when unset), so the test reads what it did:
//   calls, count200, count304   how many requests, 200s, 304s
//   last                        "inm=<If-None-Match or -> ims=<...>" of the
//                               last request
//   version                     read only: the data's version (default 1);
//                               writing another makes the ETag change
$dir = isset($_SERVER['REVALIDATE_STATE']) ? $_SERVER['REVALIDATE_STATE']
    : (getenv('REVALIDATE_STATE') !== false ? getenv('REVALIDATE_STATE')
        : __DIR__);

// bump NAME: adds one to the counter file NAME under a lock; returns it.
function bump($dir, $name) {
    $fp = fopen($dir . '/' . $name, 'c+');
    flock($fp, LOCK_EX);
    $n = (int) stream_get_contents($fp) + 1;
    ftruncate($fp, 0);
    rewind($fp);
    fwrite($fp, (string) $n);
    fflush($fp);
    flock($fp, LOCK_UN);
    fclose($fp);
    return $n;
}

function opaque($tag) {
    $tag = trim($tag);
    return strncmp($tag, 'W/', 2) === 0 ? substr($tag, 2) : $tag;
}

// none_match INM ETAG: whether the If-None-Match value names ETAG.
function none_match($inm, $etag) {
    if (trim($inm) === '*') {
        return true;
    }
    preg_match_all('/\s*((?:W\/)?"[^"]*"|[^,]+)\s*(?:,|$)/', $inm, $m);
    foreach ($m[1] as $member) {
        if (opaque($member) === opaque($etag)) {
            return true;
        }
    }
    return false;
}

$n = bump($dir, 'calls');
$inm = isset($_SERVER['HTTP_IF_NONE_MATCH']) ? $_SERVER['HTTP_IF_NONE_MATCH'] : null;
$ims = isset($_SERVER['HTTP_IF_MODIFIED_SINCE']) ? $_SERVER['HTTP_IF_MODIFIED_SINCE'] : null;
file_put_contents($dir . '/last', 'inm=' . ($inm === null ? '-' : $inm)
    . ' ims=' . ($ims === null ? '-' : $ims) . "\n", LOCK_EX);

$version = is_readable($dir . '/version')
    ? trim(file_get_contents($dir . '/version')) : '1';
$etag = '"rv-' . $version . '"';
$lm = 'Tue, 15 Nov 2022 08:12:31 GMT';
$cc = isset($_GET['cc']) && $_GET['cc'] === 'no-cache' ? 'no-cache' : 'max-age=1';

header('Content-Type: text/plain');
header('Cache-Control: ' . $cc);
header('ETag: ' . $etag);
header('Last-Modified: ' . $lm);
if ($inm !== null ? none_match($inm, $etag) : $ims === $lm) {
    bump($dir, 'count304');
    http_response_code(304);
    exit;
}
bump($dir, 'count200');
echo 'call=' . $n . ' version=' . $version . ' uri=' . $_SERVER['REQUEST_URI'] . "\n";
