#!/usr/bin/env node
// A local S3-compatible server for tests and the netem rig: s3rver (from the npm registry), made
// strict where it is lax and completed where it stops short, so the tests see what real S3 does:
//   - s3rver accepts any AWS Signature V4 without checking it (lib/middleware/authentication.js:
//     "V4 signatures have incomplete support"): here every request must carry a valid SigV4
//     signature (header or presigned query) and an unexpired presigned URL, as on S3. A wrong
//     Content-Type or Content-Length on a presigned PUT is refused by the signature.
//   - s3rver has no ListParts (GET ?uploadId answers MethodNotAllowed): answered here from
//     s3rver's own upload directory, listing only parts whose upload finished, as S3 does.
// Everything else is s3rver's.
//
//   node scripts/s3-server.mjs [--host 127.0.0.1] [--port 0] [--dir DIR] [--bucket NAME]
// prints one line, {"url":"http://HOST:PORT","accessKeyId":"S3RVER","secretAccessKey":"S3RVER"},
// once listening; stops on SIGTERM or SIGINT.
import { Buffer } from 'node:buffer'
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { URL } from 'node:url'
import { parseArgs } from 'node:util'

const require = createRequire(import.meta.url)
const S3rver = require('s3rver')

// s3rver's built-in account.
const ACCESS_KEY_ID = 'S3RVER'
const SECRET_ACCESS_KEY = 'S3RVER'

const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, dir: { type: 'string' }, bucket: { type: 'string', multiple: true, default: [] } } })
const ownDir = values.dir === undefined
const directory = values.dir ?? mkdtempSync(join(tmpdir(), 'lowband-s3-'))

const s3rver = new S3rver({ directory, silent: true, configureBuckets: values.bucket.map((name) => ({ name })) })
await s3rver.configureBuckets()
const handle = s3rver.callback()

const server = createServer((req, res) => {
  serve(req, res).catch((error) => {
    if (!res.headersSent) s3Error(res, 500, 'InternalError', String(error))
    else res.destroy()
  })
})

async function serve (req, res) {
  const url = new URL(req.url, 'http://local')
  const refusal = checkSignature(req, url)
  if (refusal !== undefined) {
    req.resume()
    return s3Error(res, 403, refusal.code, refusal.message)
  }
  if (req.method === 'GET' && url.searchParams.has('uploadId')) return listParts(req, res, url)
  handle(req, res)
}

function s3Error (res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`)
}

function escapeXml (text) {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** AWS Signature Version 4, as S3 checks it: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html */
function checkSignature (req, url) {
  const query = url.searchParams
  let auth
  if (query.has('X-Amz-Signature')) {
    auth = {
      credential: query.get('X-Amz-Credential') ?? '',
      signedHeaders: query.get('X-Amz-SignedHeaders') ?? '',
      signature: query.get('X-Amz-Signature') ?? '',
      date: query.get('X-Amz-Date') ?? '',
      payload: query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
      expires: Number(query.get('X-Amz-Expires'))
    }
  } else if (req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
    const fields = Object.fromEntries(req.headers.authorization.slice(17).split(',').map((f) => f.trim().split('=')))
    auth = { credential: fields.Credential ?? '', signedHeaders: fields.SignedHeaders ?? '', signature: fields.Signature ?? '', date: String(req.headers['x-amz-date'] ?? ''), payload: String(req.headers['x-amz-content-sha256'] ?? '') }
  } else {
    return { code: 'AccessDenied', message: 'anonymous access is not allowed' }
  }
  const [keyId, day, region, service] = auth.credential.split('/')
  if (keyId !== ACCESS_KEY_ID) return { code: 'InvalidAccessKeyId', message: 'unknown access key' }
  if (auth.expires !== undefined && Date.now() > amzTime(auth.date) + auth.expires * 1000) return { code: 'AccessDenied', message: 'Request has expired' }
  const signed = auth.signedHeaders.split(';')
  const canonicalRequest = [
    req.method,
    url.pathname,
    [...query].filter(([name]) => name !== 'X-Amz-Signature')
      .map(([name, value]) => [rfc3986(name), rfc3986(value)])
      .sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)
      .map(([name, value]) => `${name}=${value}`).join('&'),
    signed.map((name) => `${name}:${headerValue(req, name)}\n`).join(''),
    auth.signedHeaders,
    auth.payload
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', auth.date, scope, sha256Hex(canonicalRequest)].join('\n')
  let key = hmac(`AWS4${SECRET_ACCESS_KEY}`, day)
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part)
  const expected = hmac(key, stringToSign)
  const given = Buffer.from(auth.signature, 'hex')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided' }
  }
  return undefined
}

function headerValue (req, name) {
  const value = req.headers[name]
  return (Array.isArray(value) ? value.join(',') : value ?? '').trim().replace(/\s+/g, ' ')
}

function rfc3986 (text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function amzTime (text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  return m === null ? 0 : Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
}

function sha256Hex (text) {
  return createHash('sha256').update(text).digest('hex')
}

function hmac (key, text) {
  return createHmac('sha256', key).update(text).digest()
}

/** ListParts from s3rver's upload directory: a part counts once its upload finished (s3rver then writes its .md5). */
async function listParts (req, res, url) {
  const [bucket, ...rest] = url.pathname.slice(1).split('/').map(decodeURIComponent)
  const key = rest.join('/')
  const uploadId = url.searchParams.get('uploadId') ?? ''
  const dir = join(s3rver.store.getResourcePath(bucket, undefined, 'uploads'), uploadId)
  const owner = await readFile(join(dir, 'key'), 'utf8').catch(() => undefined)
  if (!/^[0-9a-f]+$/.test(uploadId) || owner !== key) return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist')
  const names = new Set(await readdir(dir))
  const parts = []
  for (const name of names) {
    if (!/^\d+$/.test(name) || !names.has(`${name}.md5`)) continue
    const [md5, info] = await Promise.all([readFile(join(dir, `${name}.md5`), 'utf8'), stat(join(dir, name))])
    parts.push({ number: Number(name), md5, size: info.size, modified: info.mtime })
  }
  parts.sort((a, b) => a.number - b.number)
  res.writeHead(200, { 'content-type': 'application/xml' })
  res.end('<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult>' +
    `<Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>` +
    parts.map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>"${p.md5}"</ETag><Size>${p.size}</Size><LastModified>${p.modified.toISOString()}</LastModified></Part>`).join('') +
    '</ListPartsResult>')
}

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address()
  const host = values.host.includes(':') ? `[${values.host}]` : values.host
  process.stdout.write(JSON.stringify({ url: `http://${host}:${port}`, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }) + '\n')
})

const stop = () => {
  server.close()
  server.closeAllConnections()
  if (ownDir) rmSync(directory, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
