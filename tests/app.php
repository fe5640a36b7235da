<?php
// app.php: the PHP application behind bocache in the end-to-end tests
// (tests/it_e2e_*.sh), run by php-cgi as bocache's child. Each call takes
// the next number from a counter file beside the script, so a test tells a
// hit (an old number) from a miss; ?sleep_ms=N makes it slow, ?size=N big.
$counter = __DIR__ . '/counter.txt';
$fp = fopen($counter, 'c+');
flock($fp, LOCK_EX);
$n = (int) stream_get_contents($fp) + 1;
ftruncate($fp, 0);
rewind($fp);
fwrite($fp, (string) $n);
fflush($fp);
flock($fp, LOCK_UN);
fclose($fp);
$ms = isset($_GET['sleep_ms']) ? (int) $_GET['sleep_ms'] : 0;
if ($ms > 0) {
    usleep($ms * 1000);
}
header('Content-Type: text/plain');
echo 'call=' . $n . ' pid=' . getmypid() . ' uri=' . $_SERVER['REQUEST_URI'] . "\n";
// ?size=N appends N bytes of a fixed pattern: a large answer crosses many
// FastCGI records on each hop.
$size = isset($_GET['size']) ? (int) $_GET['size'] : 0;
if ($size > 0) {
    echo substr(str_repeat('0123456789abcdef', intdiv($size, 16) + 1), 0, $size);
}
