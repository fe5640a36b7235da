<?php
// caller.php: a PHP application that answers for the caller it reads, for
// tests/it_poison_nginx.sh. Its body names every input a response could
// depend on, as PHP reads them (a repeated FastCGI parameter: the last
// copy), so a test sees at once when one caller got another's answer.
// ?cc=VALUE sets Cache-Control, ?vary=VALUE sets Vary.
$counter = __DIR__ . '/caller-counter.txt';
$fp = fopen($counter, 'c+');
flock($fp, LOCK_EX);
$n = (int) stream_get_contents($fp) + 1;
ftruncate($fp, 0);
rewind($fp);
fwrite($fp, (string) $n);
fflush($fp);
flock($fp, LOCK_UN);
fclose($fp);
function v($name) {
    return isset($_SERVER[$name]) ? $_SERVER[$name] : '-';
}
header('Content-Type: text/plain');
if (isset($_GET['cc'])) {
    header('Cache-Control: ' . $_GET['cc']);
}
if (isset($_GET['vary'])) {
    header('Vary: ' . $_GET['vary']);
}
echo 'call=' . $n
    . ' partner=' . v('HTTP_X_PARTNER_ID')
    . ' qpartner=' . (isset($_GET['partner_id']) ? $_GET['partner_id'] : '-')
    . ' origin=' . v('HTTP_ORIGIN')
    . ' lang=' . v('HTTP_ACCEPT_LANGUAGE')
    . ' key=' . v('HTTP_X_API_KEY')
    . ' auth=' . v('HTTP_AUTHORIZATION')
    . ' cookie=' . v('HTTP_COOKIE')
    . ' doc=' . v('DOCUMENT_URI')
    . ' uri=' . v('REQUEST_URI') . "\n";
