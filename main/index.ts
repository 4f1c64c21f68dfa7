import { startDesktop } from './desktop-app.ts'

void startDesktop({ argv: process.argv })
