<?php
// The peer with paybridge's own process model (bench/run webhook): php-fpm, pm = static.
// It verifies the signature as stripe-php's WebhookSignature::verifyHeader does (hash_hmac,
// hash_equals, 300 s tolerance), decodes the event as Webhook::constructEvent does, and
// records the event id through PDO on a persistent connection (a plain INSERT; a duplicate
// answers 200): what a Laravel Cashier shop runs, minus the framework.
//
// The pool's env[] gives PEER_WEBHOOK_SECRET, PEER_DB_SOCKET, PEER_DB_USER,
// PEER_DB_PASSWORD, PEER_DB_NAME and PEER_TABLE.
declare(strict_types=1);

const TOLERANCE = 300;

function answer(int $status, array $body): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($body);
}

function refuse(string $code, string $message): void
{
    answer(400, ['error' => ['code' => $code, 'message' => $message]]);
}

// WebhookSignature::getTimestamp and ::getSignatures, in one pass.
function parse_header(string $header, int &$timestamp, array &$signatures): void
{
    $timestamp = -1;
    $signatures = [];
    foreach (explode(',', $header) as $item) {
        $parts = explode('=', $item, 2);
        if (count($parts) !== 2) {
            continue;
        }
        if ($parts[0] === 't' && $timestamp === -1) {
            $timestamp = is_numeric($parts[1]) ? (int) $parts[1] : -1;
        } elseif ($parts[0] === 'v1') {
            $signatures[] = $parts[1];
        }
    }
}

if (($_SERVER['REQUEST_METHOD'] ?? '') === 'GET') {
    // bench/run's check before timing: the peer answers, with opcache on.
    $st = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
    answer(200, ['status' => 'ok', 'opcache' => is_array($st) && $st['opcache_enabled']]);
    return;
}
$payload = file_get_contents('php://input');
$header = $_SERVER['HTTP_STRIPE_SIGNATURE'] ?? '';
$secret = getenv('PEER_WEBHOOK_SECRET');
$timestamp = -1;
$signatures = [];
parse_header($header, $timestamp, $signatures);
if ($timestamp === -1) {
    refuse('invalid_signature', 'Unable to extract timestamp and signatures from header');
    return;
}
if ($signatures === []) {
    refuse('invalid_signature', 'No signatures found with expected scheme');
    return;
}
$expected = hash_hmac('sha256', "{$timestamp}.{$payload}", $secret);
$found = false;
foreach ($signatures as $s) {
    if (hash_equals($expected, $s)) {
        $found = true;
        break;
    }
}
if (!$found) {
    refuse('invalid_signature', 'No signatures found matching the expected signature for payload');
    return;
}
if (abs(time() - $timestamp) > TOLERANCE) {
    refuse('invalid_signature', 'Timestamp outside the tolerance zone');
    return;
}
$event = json_decode($payload, true);
if (!is_array($event) || !isset($event['id'], $event['type'])) {
    refuse('invalid_event', 'Invalid payload');
    return;
}

try {
    $pdo = new PDO(
        'mysql:unix_socket=' . getenv('PEER_DB_SOCKET') . ';dbname=' . getenv('PEER_DB_NAME'),
        getenv('PEER_DB_USER'),
        getenv('PEER_DB_PASSWORD') ?: '',
        [PDO::ATTR_PERSISTENT => true, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]
    );
    $table = getenv('PEER_TABLE');
    $pdo->prepare("INSERT INTO {$table} (event_id, type) VALUES (?, ?)")
        ->execute([$event['id'], $event['type']]);
} catch (PDOException $e) {
    if (($e->errorInfo[1] ?? 0) !== 1062) {
        answer(500, ['error' => ['code' => 'internal', 'message' => 'database error']]);
        return;
    }
}
answer(200, ['received' => true]);
