#!/usr/bin/env node
// Runs the compiled relay365 (npm ci builds it through the prepare script).
import '../dist/main.js';
