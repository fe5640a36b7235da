<?php
// app.php: the demo backend, a slow "list" endpoint of a backoffice API.
// It sleeps 200 ms as if it queried a database, then answers JSON that
// shows when it was computed and for which caller.
usleep(200000);
header('Content-Type: application/json');
header('X-Cache-Tags: sports');
echo json_encode([
    'computed_at' => date('H:i:s') . sprintf('.%03d', (microtime(true) * 1000) % 1000),
    'path' => parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH),
    'caller' => isset($_SERVER['HTTP_X_API_KEY']) ? 'api key given' : 'anonymous',
    'sports' => ['football', 'tennis', 'basketball'],
]), "\n";
