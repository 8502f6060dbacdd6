/**
 * Signed proof in the directory store (design.md §7):
 *
 *   <dir>/<connectionId>/artifacts/sha256/<hash>   each artifact once (certificate PDF, audit-events JSON), by content
 *   <dir>/<connectionId>/proof/<envelopeId>.json   the envelope's proof entry: state, links, attempts
 *
 * Both written atomically (temp file, fsync, rename); an artifact already there is not written again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertConnectionId, assertEnvelopeId } from './checks';
import { sha256 as sha256Of } from './snapshots';
import { EvidenceStoreError, errnoCode, unavailable } from './errors';
import { fsyncDirectory, idsOfJsonFiles, writeFileAtomic } from './files';
import type { EnvelopeProof, ProofStore } from './proof';

const SHA256 = /^[0-9a-f]{64}$/;

export class DirectoryProofStore implements ProofStore {
  constructor(
    private readonly root: string,
    private readonly description: string,
  ) {}

  async putArtifact(connectionId: string, bytes: Buffer): Promise<{ sha256: string; size: number }> {
    const sha256 = sha256Of(bytes);
    const dir = path.join(this.connectionDir(connectionId), 'artifacts', 'sha256');
    try {
      await fs.mkdir(dir, { recursive: true });
      const existing = await fs.stat(path.join(dir, sha256)).catch(() => undefined);
      if (existing?.size !== bytes.length) {
        await writeFileAtomic(dir, sha256, bytes);
        await fsyncDirectory(dir);
      }
    } catch (err) {
      throw unavailable(this.description, `store artifact ${sha256}`, err);
    }
    return { sha256, size: bytes.length };
  }

  async readArtifact(connectionId: string, sha256: string): Promise<Buffer> {
    if (!SHA256.test(sha256)) {
      throw new EvidenceStoreError(
        'invalid_evidence_record',
        `artifact address ${JSON.stringify(sha256)} is not a SHA-256`,
      );
    }
    try {
      return await fs.readFile(path.join(this.connectionDir(connectionId), 'artifacts', 'sha256', sha256));
    } catch (err) {
      throw unavailable(this.description, `read artifact ${sha256}`, err);
    }
  }

  async putProof(connectionId: string, proof: EnvelopeProof): Promise<void> {
    const dir = this.proofDir(connectionId, proof.envelopeId);
    try {
      await fs.mkdir(dir, { recursive: true });
      await writeFileAtomic(dir, `${proof.envelopeId}.json`, `${JSON.stringify(proof)}\n`);
      await fsyncDirectory(dir);
    } catch (err) {
      throw unavailable(this.description, `write the proof of envelope ${proof.envelopeId}`, err);
    }
  }

  async getProof(connectionId: string, envelopeId: string): Promise<EnvelopeProof | undefined> {
    const dir = this.proofDir(connectionId, envelopeId);
    try {
      return JSON.parse(await fs.readFile(path.join(dir, `${envelopeId}.json`), 'utf8')) as EnvelopeProof;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw unavailable(this.description, `read the proof of envelope ${envelopeId}`, err);
    }
  }

  async *listProof(connectionId: string): AsyncIterable<EnvelopeProof> {
    const dir = path.join(this.connectionDir(connectionId), 'proof');
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw unavailable(this.description, `list the proof of connection ${connectionId}`, err);
    }
    for (const id of idsOfJsonFiles(names)) {
      const proof = await this.getProof(connectionId, id);
      if (proof) yield proof;
    }
  }

  private connectionDir(connectionId: string): string {
    assertConnectionId(this.description, connectionId);
    return path.join(this.root, connectionId);
  }

  private proofDir(connectionId: string, envelopeId: string): string {
    assertEnvelopeId(envelopeId);
    return path.join(this.connectionDir(connectionId), 'proof');
  }
}
