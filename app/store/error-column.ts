// An ErrorInfo kept in a TEXT column as JSON, null for none: products and agent_jobs both
// record the last error this way.
import * as v from 'valibot'
import { errorInfoSchema, type ErrorInfo } from '../../shared/api-contract.ts'

export const errorText = (e: ErrorInfo | null): string | null => (e ? JSON.stringify(e) : null)

export const parseErrorText = (text: string | null): ErrorInfo | null => (text ? v.parse(errorInfoSchema, JSON.parse(text)) : null)
