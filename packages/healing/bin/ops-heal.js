#!/usr/bin/env node
// Launcher kept outside dist/ so package managers can link the command before the package is built.
import '../dist/cli/bin.js';
