/** A model kept as its bytes (model.toBytes()): in the page's IndexedDB, or as a downloaded .kmfit file. */
import { loadModel, type KernelModel } from 'kmfit';

const DATABASE = 'kmfit-demo';
const STORE = 'models';

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function keepModel(name: string, model: KernelModel): Promise<void> {
  const database = await openDatabase();
  await new Promise<void>((resolve, reject) => {
    const transaction = database.transaction(STORE, 'readwrite');
    transaction.objectStore(STORE).put(model.toBytes(), name);
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
  });
  database.close();
}

/** The model kept under `name`, or undefined. */
export async function restoreModel(name: string): Promise<KernelModel | undefined> {
  const database = await openDatabase();
  const bytes = await new Promise<Uint8Array | undefined>((resolve, reject) => {
    const request = database.transaction(STORE).objectStore(STORE).get(name);
    request.onsuccess = () => resolve(request.result as Uint8Array | undefined);
    request.onerror = () => reject(request.error);
  });
  database.close();
  return bytes === undefined ? undefined : loadModel(bytes);
}

export function downloadModel(model: KernelModel, fileName: string): void {
  const link = document.createElement('a');
  // The model's bytes are a plain ArrayBuffer's, never a SharedArrayBuffer's (which a Blob refuses).
  link.href = URL.createObjectURL(new Blob([model.toBytes() as BlobPart]));
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export async function uploadedModel(file: File): Promise<KernelModel> {
  return loadModel(await file.arrayBuffer());
}
