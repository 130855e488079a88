import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startApp } from './actions';
import { App } from './App';
import { exposeEngine } from './engine';
import { startUrlSync } from './urlSync';
import './styles.css';

exposeEngine();
startUrlSync();

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
void startApp();
