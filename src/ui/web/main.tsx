/** The page's entry point (bundled by src/ui/bundle.ts): renders {@link App} into `#app`. */
import { render } from 'preact';
import { Api } from './api.js';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) render(<App api={new Api()} />, root);
