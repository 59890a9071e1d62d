// Worker thread entry: lets the worker load the TypeScript fuzz runner (tsx), then hands over.
require('tsx/cjs/api').register();
require('./worker.ts');
